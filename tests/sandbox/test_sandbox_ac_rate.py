"""The ActiveCampaign sandbox's rate limit: AC's "5 requests per second per account"
(https://developers.activecampaign.com/reference/rate-limits), counted strictly when a
request arrives, over a window the benchmark can scale (``rate_window``)."""

from __future__ import annotations

import requests

from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.server import Server

TOKEN = "ac-rate-token"


def test_a_window_of_10_s_holds_50_requests_at_5_a_second_and_answers_the_51st_429():
    app = ACSandbox()
    app.add_account(TOKEN, ACAccount("r", None, requests_per_second=5, rate_window=10))
    with Server(app) as server, requests.Session() as session:
        statuses = [session.get(f"{server.url}/api/3/tags", headers={"Api-Token": TOKEN})
                    .status_code for _ in range(51)]
    assert statuses == [200] * 50 + [429]
