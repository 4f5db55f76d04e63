"""The whole sync on the reference CRM: state, write-back, transitions, invites, decay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.errors import LeaseHeld
from connector.models import Event, EventType
from connector.sandbox.clock import FakeClock
from connector.sandbox.memory_crm import MemoryCRM
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job

from ..scoring.scenarios import story_000
from .helpers import client_config, settings, story_contact

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def world(store_url):
    clock = FakeClock(START)
    crm = MemoryCRM(clock=clock)
    crm.load([story_contact("story", "maja@lund.dk"),
              story_contact("spy", "spy@rivalagency.com", job_title="Recruiter"),
              story_contact("quiet", "quiet@x.dk")])
    with SmtpSink() as sink:
        client = client_config("memo", "hubspot", "http://unused", sink.port)
        store = open_store(store_url)
        job = make_job(client, settings(store_url), store, crm=crm, clock=clock,
                       env={"TEST_TOKEN": "t"})
        yield job, crm, clock, sink, store
        store.close()


def invites(sink):
    return [m for m in sink.messages if m["X-Connector-Key"].startswith("memo:invite")]


def test_000_story_warm_invite_once_decay_and_second_warm_up(world):
    job, crm, clock, sink, store = world
    first = run_sync(job)
    assert first.status == "ok" and first.counts["pulled"] == 3
    assert crm.account.contacts["story"].score_in_crm == 0

    for event in story_000("story", clock.now()):
        crm.add_event(event)
    clock.advance(minutes=15)
    report = run_sync(job)
    assert crm.account.contacts["story"].score_in_crm == 30
    assert report.counts["became_warm"] == 1
    [invite] = invites(sink)
    assert invite["From"] == "Linnea Berg <sales@example-agency.com>"
    assert invite["Reply-To"] == "Linnea Berg <linnea@example-agency.com>"
    assert invite["To"] == "maja@lund.dk"
    assert "services" in invite.get_content()
    [notify] = [m for m in sink.messages if "notify" in m["X-Connector-Key"]]
    assert "30 points" in notify.get_content() and "Visited the contact page" in \
        notify.get_content()

    clock.advance(minutes=15)
    again = run_sync(job)
    assert again.counts["written"] == 0 and len(invites(sink)) == 1

    clock.advance(days=28)
    cooled = run_sync(job)
    assert crm.account.contacts["story"].score_in_crm == 10
    assert cooled.counts["left_warm"] == 1 and len(invites(sink)) == 1
    assert store.get_contacts("memo", ["story"])["story"].warm is False

    for i in range(3):
        crm.add_event(Event(f"again-{i}", "story", EventType.PAGE_VIEW, clock.now(),
                            url=f"https://www.example-agency.com/cases/c{i}"))
    clock.advance(minutes=15)
    run_sync(job)
    assert crm.account.contacts["story"].score_in_crm >= 30
    assert len(invites(sink)) == 2
    assert store.get_contacts("memo", ["story"])["story"].warm_episode == 2


def test_contact_at_the_floor_is_unsubscribed_once(world):
    job, crm, clock, sink, store = world
    run_sync(job)
    assert crm.account.contacts["spy"].score_in_crm == -30
    assert "spy" in crm.account.unsubscribed
    run_sync(job)
    assert crm.calls["unsubscribe"] == 1


def test_quiet_contacts_are_rescored_when_time_changes_their_score(world):
    job, crm, clock, sink, store = world
    for event in story_000("story", clock.now()):
        crm.add_event(event)
    run_sync(job)
    row = store.get_contacts("memo", ["story"])["story"]
    assert row.next_change_at == START + timedelta(days=14)
    clock.advance(minutes=15)
    settle = run_sync(job)  # sees its own write come back and leaves it alone
    assert settle.counts["written"] == 0 and settle.counts["events_fetched_for"] == 0
    clock.advance(days=14)
    report = run_sync(job)
    assert report.counts["pulled"] == 0 and report.counts["due"] == 1
    assert crm.account.contacts["story"].score_in_crm == 20


def test_dry_run_changes_nothing_and_lists_the_plan(world):
    job, crm, clock, sink, store = world
    for event in story_000("story", clock.now()):
        crm.add_event(event)
    report = run_sync(job, dry_run=True)
    assert any("connector_lead_score=30 to contact story" in p for p in report.planned)
    assert any(p.startswith("invite for contact story") for p in report.planned)
    assert crm.account.contacts["story"].score_in_crm is None
    assert sink.messages == [] and crm.calls["write"] == 0
    assert store.get_bookmark("memo", "contacts") is None


def test_a_second_run_on_the_same_client_is_refused(world):
    job, crm, clock, sink, store = world
    store.acquire_lease("memo", "other-machine", 600, clock.now())
    with pytest.raises(LeaseHeld, match="being synced by other-machine"):
        run_sync(job)


def test_crash_during_delivery_is_reported_not_resent(world):
    job, crm, clock, sink, store = world
    for event in story_000("story", clock.now()):
        crm.add_event(event)
    run_sync(job, dry_run=False)
    sent = len(sink.messages)
    # a crashed run left an invite in "sending": nobody knows whether it went out
    from connector.store.base import OutboxEntry

    with store.transaction() as tx:
        tx.enqueue(OutboxEntry("memo", "story", "invite", "invite:story:99", {}))
    store.claim_next("memo", clock.now())
    report = run_sync(job)
    assert any("outcome unknown" in line for line in report.unknown_actions)
    assert len(sink.messages) == sent
    assert [e.status for e in store.outbox("memo") if e.dedupe_key == "invite:story:99"] == [
        "unknown"]
