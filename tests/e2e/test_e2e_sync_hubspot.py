"""The sync against the HubSpot sandbox, through the real SDK over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.sandbox.clock import FakeClock
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync

from ..scoring.scenarios import story_002
from .helpers import client_config, sandbox_job, story_contact

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
TOKEN = "pat-na1-e2e-secret"


@pytest.fixture
def portal(store_url):
    clock = FakeClock(START)
    app = HubSpotSandbox()
    account = app.add_account(TOKEN, HubSpotAccount(
        "acme", Population(200, seed=9, now=START), plan="enterprise", clock=clock,
        ten_second_limit=100_000, search_per_second=100_000))
    account.add_contact(story_contact("5000", "maja@lund.dk"))
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("acme", "hubspot", server.url, sink.port,
                               crm={"plan": "enterprise"})
        store = open_store(store_url)
        job = sandbox_job(client, server.url, TOKEN, clock, store, store_url)
        yield app, account, job, clock, sink, store
        store.close()


def notifications(sink, contact_id):
    return [m for m in sink.messages if m["X-Connector-Key"] == f"acme:notify:{contact_id}:1"]


def test_002_story_notifies_sales_once_with_details_and_explanation(portal):
    app, account, job, clock, sink, store = portal
    run_sync(job)
    for event in story_002("5000", clock.now()):
        account.add_event(event)
    clock.advance(minutes=15)
    report = run_sync(job)
    assert account.score_of("5000", "connector_lead_score") == "40"
    [note] = notifications(sink, "5000")
    body = note.get_content()
    assert note["To"] == "sales@example-agency.com"
    assert "Maja Lund <maja@lund.dk> at Lund ApS" in body
    assert "40 points" in body
    for line in ("Read 5 blog posts", "Downloaded a second guide", "Opened 4 emails",
                 "Clicked links in 3 different emails", "Downloaded a guide"):
        assert line in body
    assert report.counts["became_warm"] >= 1
    clock.advance(minutes=15)
    run_sync(job)
    assert len(notifications(sink, "5000")) == 1


def test_unchanged_scores_are_never_rewritten(portal):
    app, account, job, clock, sink, store = portal
    first = run_sync(job, full=True)
    assert first.counts["write_calls"] == -(-first.counts["written"] // 100)
    app.ledger.clear()
    clock.advance(minutes=15)
    again = run_sync(job, full=True)
    assert again.counts["written"] == 0
    assert app.ledger.count("/crm/v3/objects/contacts/batch/update") == 0


def test_unchanged_portal_incremental_sync_makes_at_most_3_calls(portal):
    app, account, job, clock, sink, store = portal
    run_sync(job)
    clock.advance(minutes=15)
    run_sync(job)  # sees its own writes come back, recognises them
    clock.advance(minutes=15)
    app.ledger.clear()
    report = run_sync(job)
    assert report.counts["written"] == 0
    assert app.ledger.count() <= 3, app.ledger.by_path()


def test_pulled_and_time_due_scores_share_the_write_calls(portal):
    """The last pulled batch and the contacts due by time are written together: 12 scores
    go out in one batch call, not one for the pulled and one for the due contacts."""
    app, account, job, clock, sink, store = portal
    run_sync(job, full=True)
    clock.advance(days=15)  # quiet contacts reach a decay step: due by time
    for event in story_002("5000", clock.now()):
        account.add_event(event)  # and one contact changes in the CRM
    report = run_sync(job)
    assert report.counts["pulled"] >= 1 and report.counts["due"] >= 1
    assert report.counts["written"] >= 2
    assert report.counts["write_calls"] == -(-report.counts["written"] // 100)
    assert account.score_of("5000", "connector_lead_score") == "40"
