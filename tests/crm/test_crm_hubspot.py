"""HubSpot-specific behaviour the issue asks to see, over HTTP against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.crm.base import ScoreProperty
from connector.crm.hubspot import HubSpotCRM
from connector.errors import AuthError
from connector.models import Contact, Event, EventType, Owner
from connector.sandbox.clock import FakeClock
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
        "acme", None, clock=clock, ten_second_limit=100_000, search_per_second=100_000))
    with Server(app) as server:
        crm = HubSpotCRM("acme", TOKEN, server.url, clock=clock, requests_per_10s=100_000,
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

    def with_bad_value(prop, items, report, retry):
        return original(prop, [(cid, "abc" if cid == "4" else v) for cid, v in items], report,
                        retry)

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
    bad = HubSpotCRM("acme", "pat-na1-WRONG-token-99", crm.base_url, clock=clock)
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
    notes = " ".join(crm.notes.degraded)
    assert "needs Enterprise" in notes and "Professional or higher" in notes
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


# -- engagement as HubSpot keeps it (issue 14) ---------------------------------------------
SITE = "https://www.example-agency.com"


def _portal_on(plan: str, clock: FakeClock):
    app = HubSpotSandbox()
    account = app.add_account(TOKEN, HubSpotAccount(
        "acme", None, plan=plan, clock=clock, ten_second_limit=100_000,
        search_per_second=100_000))
    server = Server(app)
    crm = HubSpotCRM("acme", TOKEN, server.url, plan=plan, clock=clock, requests_per_10s=100_000,
                     search_per_second=100_000)
    return app, account, crm, server


@pytest.fixture(params=["free", "starter", "professional", "enterprise"])
def any_plan(request):
    clock = FakeClock(START)
    app, account, crm, server = _portal_on(request.param, clock)
    yield request.param, app, account, crm, clock
    crm.close()
    server.stop()


def _pull(crm, clock, cid):
    [contact] = [c for c in crm.iter_contacts(None, clock.now()) if c.id == cid]
    return contact


def test_a_repeat_open_or_click_moves_the_activity_signature(any_plan):
    """HubSpot counts emails opened, not opens: a repeat open moves only the last-open
    date, which the signature must include or the open waits for the next full resync."""
    _plan, _app, account, crm, clock = any_plan
    account.add_contact(Contact(id="1", email="a@x.com", fields={},
                                created_at=START - timedelta(days=3)))
    account.add_event(Event("o1", "1", EventType.EMAIL_OPEN, clock.now(), email_id="nl-1"))
    account.add_event(Event("c1", "1", EventType.EMAIL_CLICK, clock.now(), email_id="nl-1",
                            url=f"{SITE}/pricing"))
    before = _pull(crm, clock, "1").activity_signature
    clock.advance(hours=2)
    account.add_event(Event("o2", "1", EventType.EMAIL_OPEN, clock.now(), email_id="nl-1"))
    assert account.contacts["1"]["props"]["hs_email_open"] == "1"  # still one email
    after_open = _pull(crm, clock, "1").activity_signature
    assert after_open != before
    clock.advance(hours=2)
    account.add_event(Event("c2", "1", EventType.EMAIL_CLICK, clock.now(), email_id="nl-1",
                            url=f"{SITE}/pricing"))
    assert _pull(crm, clock, "1").activity_signature != after_open


def test_without_the_events_apis_events_are_per_contact_and_dated_by_the_contact(any_plan):
    """Two contacts who sent the same form get an event each, dated when they sent it;
    our own score write (it moves lastmodifieddate) changes no event."""
    plan, _app, account, crm, clock = any_plan
    sent = {"1": START - timedelta(days=20), "2": START - timedelta(days=9)}
    for cid, when in sent.items():
        account.add_contact(Contact(id=cid, email=f"p{cid}@x.com", fields={},
                                    created_at=START - timedelta(days=40)), [
            Event(f"v{cid}", cid, EventType.PAGE_VIEW, when - timedelta(hours=1),
                  url=f"{SITE}/contact"),
            Event(f"f{cid}", cid, EventType.FORM_SUBMISSION, when, name="Contact us: contact-form"),
            Event(f"o{cid}", cid, EventType.EMAIL_OPEN, when, email_id="nl-3")])
    contacts = list(crm.iter_contacts(None, clock.now()))
    first = crm.fetch_events(contacts, None)
    crm.ensure_score_property(ScoreProperty())
    clock.advance(hours=1)
    crm.write_scores({"1": 25, "2": 25})
    again = crm.fetch_events(list(crm.iter_contacts(None, clock.now())), None)
    assert again == first
    for cid, when in sent.items():
        forms = [e for e in first[cid] if e.type == EventType.FORM_SUBMISSION]
        assert [(e.occurred_at, e.name) for e in forms] == [(when, "Contact us: contact-form")]
        if plan != "enterprise":  # built from properties: the contact's id in each
            assert all(e.id.startswith(f"hs-{cid}-") for e in first[cid]
                       if e.type != EventType.EMAIL_OPEN or plan in ("free", "starter"))
        views = [e for e in first[cid] if e.type == EventType.PAGE_VIEW]
        assert [(e.url, e.occurred_at) for e in views] == [(f"{SITE}/contact",
                                                            when - timedelta(hours=1))]
    ids = [e.id for evs in first.values() for e in evs]
    assert len(ids) == len(set(ids)), f"event ids shared between contacts on {plan}"


def test_starter_counts_one_open_and_one_click_per_email(any_plan):
    plan, app, account, crm, clock = any_plan
    account.add_contact(Contact(id="1", email="a@x.com", fields={},
                                created_at=START - timedelta(days=3)))
    for i, email in enumerate(("nl-1", "nl-1", "nl-2", "nl-3", "nl-3")):
        account.add_event(Event(f"o{i}", "1", EventType.EMAIL_OPEN,
                                START - timedelta(hours=10 - i), email_id=email))
        account.add_event(Event(f"c{i}", "1", EventType.EMAIL_CLICK,
                                START - timedelta(hours=10 - i), email_id=email,
                                url=f"{SITE}/services/seo"))
    events = crm.fetch_events([_pull(crm, clock, "1")], None)["1"]
    opens = [e for e in events if e.type == EventType.EMAIL_OPEN]
    clicks = [e for e in events if e.type == EventType.EMAIL_CLICK]
    if plan in ("free", "starter"):  # no email events API: one per email, no repeats
        assert len(opens) == 3 and len({e.email_id for e in clicks}) == 3
        assert max(e.occurred_at for e in opens) == START - timedelta(hours=6)
        assert app.ledger.count("/email/public/v1/events") == 0
    else:
        assert len(opens) == 5 and len({e.email_id for e in clicks}) == 3


def test_email_events_api_refused_degrades_to_the_counters(portal):
    """A portal configured as Professional whose token lacks the scope: 403 MISSING_SCOPES
    once, then the counters, said in the report."""
    app, account, _crm, clock = portal  # the account is a Starter portal
    crm = HubSpotCRM("acme", TOKEN, _crm.base_url, plan="professional", clock=clock,
                     requests_per_10s=100_000,
                     search_per_second=100_000)
    for cid in ("1", "2", "3"):
        account.add_contact(Contact(id=cid, email=f"p{cid}@x.com", fields={},
                                    created_at=START - timedelta(days=3)),
                            [Event(f"o{cid}", cid, EventType.EMAIL_OPEN, START, email_id="a")])
    crm.engagement_workers = 1
    events = crm.fetch_events(list(crm.iter_contacts(None, clock.now())), None)
    assert all(len([e for e in evs if e.type == EventType.EMAIL_OPEN]) == 1
               for evs in events.values())
    assert app.ledger.count("/email/public/v1/events", status=403) == 1
    assert any("email events API unavailable" in n for n in crm.notes.degraded)


def test_unsubscribe_reads_the_subscription_definitions_once(portal):
    app, account, crm, clock = portal
    _seed(account, 3, START - timedelta(days=1))
    contacts = list(crm.iter_contacts(None, clock.now()))
    app.ledger.clear()
    for contact in contacts:
        crm.unsubscribe(contact)
    assert app.ledger.count("/communication-preferences/v3/definitions") == 1
    assert app.ledger.count("/communication-preferences/v3/unsubscribe") == 3
    assert all(account.unsubscribed.get(f"p{i}@x.com") for i in (1, 2, 3))


def test_upgrade_drops_the_events_the_old_property_reading_made(tmp_path):
    """Rows keyed by the form name alone and dated at lastmodifieddate (shared by the whole
    portal) are removed by migration 0004; other events stay."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from connector.store import open_store
    from connector.store.sql.migrate import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        for event_id in ("hs-last-conversion-contact-form", "hs-last-visit-1761893881000",
                         "hs-ev-a3f1", "hs-7-form-1761893881000"):
            conn.execute(text("INSERT INTO events (client, event_id, contact_id, type, "
                              "occurred_at) VALUES ('acme', :e, '7', 'page_view', "
                              "'2026-10-30 16:00:00')"), {"e": event_id})
    engine.dispose()
    store = open_store(url)
    try:
        kept = sorted(e.id for e in store.get_events("acme", ["7"])["7"])
    finally:
        store.close()
    assert kept == ["hs-7-form-1761893881000", "hs-ev-a3f1"]


def test_a_portal_configured_enterprise_that_is_not_degrades_per_contact(portal):
    """The events APIs answer 403 (a Starter portal configured as Enterprise): the
    contacts' engagement properties are read once each and the report says so."""
    app, account, _crm, clock = portal
    crm = HubSpotCRM("acme", TOKEN, _crm.base_url, plan="enterprise", clock=clock,
                     requests_per_10s=100_000,
                     search_per_second=100_000, engagement_workers=1)
    for cid in ("1", "2"):
        account.add_contact(Contact(id=cid, email=f"p{cid}@x.com", fields={},
                                    created_at=START - timedelta(days=3)), [
            Event(f"v{cid}", cid, EventType.PAGE_VIEW, START, url=f"{SITE}/pricing"),
            Event(f"o{cid}", cid, EventType.EMAIL_OPEN, START, email_id="nl-1")])
    contacts = list(crm.iter_contacts(None, clock.now()))
    app.ledger.clear()
    events = crm.fetch_events(contacts, None)
    assert {cid: sorted(e.type for e in evs) for cid, evs in events.items()} == {
        cid: [EventType.EMAIL_OPEN, EventType.PAGE_VIEW] for cid in ("1", "2")}
    assert app.ledger.count("/crm/v3/objects/contacts/1") == 1
    assert len(crm.notes.degraded) == 2


def test_a_task_for_the_owner_fallback_is_created_unassigned(portal):
    """The owner_fallback stand-in is no HubSpot owner: its task is created without
    hubspot_owner_id (which takes only the portal's owners), the portal's own owner keeps it."""
    _app, account, crm, _clock = portal
    account.owners = [Owner(id="203", name="Ærling Pedersen", email="aerling@example.com")]
    _seed(account, 2, START)
    first, second = (Contact(id=i, email=f"p{i}@x.com", fields={}, owner_id="203")
                     for i in ("1", "2"))
    crm.create_task(first, Owner(id="fallback", name="Linnea Berg",
                                 email="linnea@example-agency.com"), "Call", "Warm")
    crm.create_task(second, crm.get_owner(second), "Call", "Warm")
    owners = [t["properties"].get("hubspot_owner_id") for t in account.tasks]
    assert owners == [None, "203"]
