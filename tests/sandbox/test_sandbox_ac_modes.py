"""The ActiveCampaign sandbox's account shapes for real accounts (issue 21): many custom
fields and tags paged as AC pages its lists, and activity streams that list no visits,
refuse the account-wide read or answer it empty."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from connector.models import Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.population import Population
from connector.sandbox.server import Server

TOKEN = "ac-modes-token"
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _serve(**options):
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("m", Population(3, seed=2, now=NOW),
                                               clock=FakeClock(NOW),
                                               requests_per_second=100_000, **options))
    return app, account


def test_150_fields_and_150_tags_page_by_limit_and_offset_with_a_total():
    app, account = _serve(custom_fields=150, tags=150)
    with Server(app) as server:
        def get(path, **params):
            return requests.get(f"{server.url}/api/3{path}", params=params,
                                headers={"Api-Token": TOKEN}).json()
        first, second = get("/fields", limit=100), get("/fields", limit=100, offset=100)
        assert len(first["fields"]) == 100 and first["meta"]["total"] == "154"
        assert [f["perstag"] for f in second["fields"]][50:] == [
            "JOB_TITLE", "COMPANY_SIZE", "INDUSTRY", "COUNTRY"]  # past page 1
        assert len(get("/tags")["tags"]) == 20  # AC's default page
        tags = get("/tags", limit=100, offset=100)
        assert len(tags["tags"]) == 50 and tags["meta"]["total"] == "150"


@pytest.mark.parametrize("mode,status,rows", [
    ("full", 200, True), ("no_visits", 200, True), ("refused", 403, False),
    ("missing", 404, False), ("empty", 200, False)])
def test_stream_modes(mode, status, rows):
    app, account = _serve(stream=mode)
    account.add_event(Event("v1", "1", EventType.PAGE_VIEW, NOW, url="https://a/pricing"))
    account.add_event(Event("o1", "1", EventType.EMAIL_OPEN, NOW, email_id="nl-1"))
    with Server(app) as server:
        def get(**params):
            return requests.get(f"{server.url}/api/3/activities", params=params,
                                headers={"Api-Token": TOKEN})
        wide, one = get(), get(contact="1")
        assert wide.status_code == status
        assert bool(status == 200 and wide.json()["activities"]) is rows
        assert one.status_code == 200 and one.json()["activities"]  # per contact: answered
        visits = [r for r in one.json()["activities"] if r["reference_type"] == "TrackingLog"]
        assert bool(visits) is (mode != "no_visits")
        logs = requests.get(f"{server.url}/api/3/contacts/1/trackingLogs",
                            headers={"Api-Token": TOKEN}).json()["trackingLogs"]
        assert any(r["value"] == "https://a/pricing" for r in logs)  # always logged


def test_an_unknown_stream_mode_is_refused():
    with pytest.raises(ValueError, match="stream must be one of"):
        ACAccount("m", stream="sometimes")
