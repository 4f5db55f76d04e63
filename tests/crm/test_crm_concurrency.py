"""Engagement calls keep a few requests in flight (hiding the CRM's latency) and still never
exceed the rate limit; the events they return are the same as one request at a time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.crm.activecampaign import ActiveCampaignCRM
from connector.crm.fanout import fan_out
from connector.crm.hubspot import HubSpotCRM
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

LATENCY = 0.03  # seconds the "CRM" takes to answer each request
RATE = 60  # requests per second, sandbox and client alike


class Latency:
    """WSGI middleware: every request takes ``LATENCY`` seconds; counts requests in flight."""

    def __init__(self, app: Any) -> None:
        self.app, self.in_flight, self.most = app, 0, 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            time.sleep(LATENCY)
            return self.app(environ, start_response)
        finally:
            with self.lock:
                self.in_flight -= 1


def _hubspot(url: str, workers: int) -> HubSpotCRM:
    return HubSpotCRM("c", "pat-na1-conc", url, plan="enterprise", requests_per_10s=RATE * 10,
                      search_per_second=RATE, engagement_workers=workers)


def _activecampaign(url: str, workers: int) -> ActiveCampaignCRM:
    return ActiveCampaignCRM("c", "ac-conc-token", url, requests_per_second=RATE,
                             engagement_workers=workers)


def _sandbox(kind: str) -> Any:
    population = Population(30, seed=11)
    if kind == "hubspot":
        app: Any = HubSpotSandbox()
        app.add_account("pat-na1-conc", HubSpotAccount(
            "c", population, plan="enterprise", ten_second_limit=RATE * 10,
            search_per_second=RATE))
    else:
        app = ACSandbox()
        app.add_account("ac-conc-token", ACAccount("c", population, requests_per_second=RATE))
    return app


@pytest.mark.parametrize("kind", ["hubspot", "activecampaign"])
def test_engagement_requests_overlap_within_the_rate_limit_and_return_the_same_events(kind):
    app = _sandbox(kind)
    wrapped = Latency(app)
    make = _hubspot if kind == "hubspot" else _activecampaign
    got = {}
    with Server(wrapped) as server:
        for workers in (1, 4):
            crm = make(server.url, workers)
            contacts = list(crm.iter_contacts(None, datetime.now(UTC)))
            wrapped.most = 0
            events = crm.fetch_events(contacts, None)
            got[workers] = (wrapped.most, {cid: sorted(e.id for e in evs)
                                           for cid, evs in events.items()})
            crm.close()
    (one_most, one_events), (four_most, four_events) = got[1], got[4]
    assert one_most == 1 and four_most >= 2  # several in flight, not one at a time
    assert four_events == one_events and sum(map(len, four_events.values())) > 30
    assert app.ledger.count(status=429) == 0  # the shared limiter held


def test_fan_out_keeps_order_and_raises_the_first_error_without_leaving_work_running():
    started: list[int] = []

    def work(x: int) -> int:
        started.append(x)
        if x == 3:
            raise ValueError("bad record 3")
        time.sleep(0.01)
        return x * x

    assert fan_out(lambda x: x * x, range(10), 4) == [x * x for x in range(10)]
    with pytest.raises(ValueError, match="bad record 3"):
        fan_out(work, range(200), 4)
    settled = len(started)
    time.sleep(0.05)
    assert len(started) == settled < 200  # the rest was cancelled, nothing runs on
