"""HubSpot-specific behaviour the issue asks to see, over HTTP against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.clock import FakeClock
from connector.crm.base import ScoreProperty
from connector.crm.hubspot import HubSpotCRM
from connector.errors import AuthError
from connector.models import Contact
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

TOKEN = "pat-na1-secret-token-42"
START = datetime(2026, 11, 1, 9, tzinfo=UTC)


@pytest.fixture
def portal():
    clock = FakeClock(START)
    app = HubSpotSandbox()
    account = app.add_account(TOKEN, HubSpotAccount(
        "acme", None, clock=clock.now, ten_second_limit=100_000, search_per_second=100_000))
    with Server(app) as server:
        crm = HubSpotCRM("acme", TOKEN, server.url, clock=clock.now, sleep=clock.sleep,
                         monotonic=clock.monotonic, requests_per_10s=100_000,
                         search_per_second=100_000)
        yield app, account, crm, clock


def _seed(account: HubSpotAccount, n: int, when: datetime) -> None:
    for i in range(1, n + 1):
        account.add_contact(Contact(id=str(i), email=f"p{i}@x.com", fields={},
                                    created_at=when, updated_at=when + timedelta(
                                        milliseconds=i % 7000)))


def test_incremental_pull_over_25000_changes_gets_each_exactly_once(portal):
    app, account, crm, _clock = portal
    _seed(account, 25_000, START - timedelta(hours=1))
    seen = [c.id for c in crm.iter_contacts(START - timedelta(hours=2), START)]
    assert len(seen) == 25_000 and len(set(seen)) == 25_000
    assert app.ledger.count("/crm/v3/objects/contacts/search", status=400) == 0


def test_unchanged_portal_incremental_pull_is_one_call(portal):
    app, account, crm, clock = portal
    _seed(account, 500, START - timedelta(days=3))
    bookmark = clock.now()
    clock.advance(minutes=15)
    app.ledger.clear()
    assert list(crm.iter_contacts(bookmark, clock.now())) == []
    assert app.ledger.count() == 1


def test_bookmark_window_ends_at_the_sync_start(portal):
    _app, account, crm, clock = portal
    _seed(account, 10, START - timedelta(days=1))
    sync_start = clock.now()
    clock.advance(minutes=5)
    account._touch("3")  # modified after the sync started: belongs to the next sync
    got = [c.id for c in crm.iter_contacts(START - timedelta(days=2), sync_start)]
    assert "3" not in got and len(got) == 9


def test_1000_changed_scores_take_10_batch_calls(portal):
    app, account, crm, _clock = portal
    _seed(account, 1000, START - timedelta(days=1))
    crm.ensure_score_property(ScoreProperty())
    app.ledger.clear()
    report = crm.write_scores({str(i): i % 90 for i in range(1, 1001)})
    assert len(report.written) == 1000 and not report.failed
    assert app.ledger.count("/crm/v3/objects/contacts/batch/update") == 10
    assert report.calls == 10


def test_invalid_value_is_isolated_and_the_rest_written(portal):
    _app, account, crm, _clock = portal
    _seed(account, 10, START - timedelta(days=1))
    crm.ensure_score_property(ScoreProperty())
    crm.score_property = "connector_lead_score"
    scores = {str(i): 5 for i in range(1, 11)}
    account.properties["connector_lead_score"]["type"] = "number"
    # a value HubSpot refuses makes it reject the whole batch with 400 VALIDATION_ERROR
    original = crm._write_batch

    def with_bad_value(items, report, retry):
        return original([(cid, "abc" if cid == "4" else v) for cid, v in items], report, retry)

    crm._write_batch = with_bad_value
    report = crm.write_scores(scores)
    assert set(report.failed) == {"4"}
    assert len(report.written) == 9


def test_429_storm_waits_as_told_and_finishes(portal):
    app, account, crm, clock = portal
    _seed(account, 250, START - timedelta(days=1))
    app.faults.update(burst=4, retry_after=None)  # HubSpot names no Retry-After
    contacts = list(crm.iter_contacts(None, clock.now()))
    assert len(contacts) == 250
    assert app.ledger.count(status=429) == 4
    assert clock.slept >= 4 * 10  # backed off by the ten-second window each time
    assert sum(crm.http_stats.retried.values()) == 4


def test_429_with_retry_after_is_honoured(portal):
    app, account, crm, clock = portal
    _seed(account, 5, START - timedelta(days=1))
    app.faults.update(burst=1, retry_after=7)
    list(crm.iter_contacts(None, clock.now()))
    assert 7 <= clock.slept < 10


def test_5xx_and_resets_are_retried(portal):
    app, account, crm, clock = portal
    _seed(account, 300, START - timedelta(days=1))
    app.faults.update(seed=3, server_error=0.3, reset=0.1, malformed=0.1)
    contacts = list(crm.iter_contacts(None, clock.now()))
    assert len(contacts) == 300
    assert sum(app.faults.injected.values()) > 0


def test_401_stops_at_once_naming_the_client_not_the_token(portal):
    app, _account, crm, clock = portal
    bad = HubSpotCRM("acme", "pat-na1-WRONG-token-99", crm.base_url, clock=clock.now,
                     sleep=clock.sleep, monotonic=clock.monotonic)
    app.ledger.clear()
    with pytest.raises(AuthError) as info:
        list(bad.iter_contacts(None, clock.now()))
    message = str(info.value)
    assert "check the token for client 'acme'" in message
    assert "WRONG" not in message and TOKEN not in message
    assert app.ledger.count() == 1


def test_degrades_without_the_enterprise_events_api(portal):
    _app, account, crm, clock = portal
    people = Population(5, seed=2)
    for p in people:
        account.add_contact(p.contact, p.events)
    contacts = list(crm.iter_contacts(None, clock.now()))
    events = crm.fetch_events(contacts, None)
    assert crm.notes.degraded and "Enterprise" in crm.notes.degraded[0]
    assert any(e.type == "email_open" for evs in events.values() for e in evs)


def test_contacts_modified_while_the_pull_runs_never_shift_the_pages(portal):
    """The sync writes scores between pages, which moves those contacts past the sync's
    start; a pull paged by offsets would then skip as many others."""
    app, account, crm, clock = portal
    _seed(account, 1500, START - timedelta(hours=1))
    sync_start = clock.now()
    clock.advance(seconds=30)
    seen = []
    for contact in crm.iter_contacts(START - timedelta(hours=2), sync_start):
        seen.append(contact.id)
        account._touch(contact.id)  # our own write lands while the pull goes on
    assert len(seen) == 1500 and len(set(seen)) == 1500
    assert app.ledger.count("/crm/v3/objects/contacts/search") <= 1500 // 199 + 2
