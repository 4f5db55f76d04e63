"""The 000 story on ActiveCampaign: warm at 30, one invite, decay, a second warm-up,
the floor unsubscribes. Real adapter over HTTP, real SMTP server, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.models import Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync

from ..scoring.scenarios import story_000
from .helpers import client_config, sandbox_job, story_contact

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
TOKEN = "ac-e2e-secret"


@pytest.fixture
def world(store_url):
    clock = FakeClock(START)
    app = ACSandbox()
    account = app.add_account(TOKEN, ACAccount("nordic", None, clock=clock,
                                               requests_per_second=100_000))
    account.add_contact(story_contact("1", "maja@lund.dk"))
    account.add_contact(story_contact("2", "spy@rivalagency.com", job_title="Recruiter"))
    with Server(app) as server, SmtpSink() as sink:
        client = client_config("nordic", "activecampaign", server.url, sink.port,
                               unsubscribe={"list_id": "3"})
        store = open_store(store_url)
        job = sandbox_job(client, server.url, TOKEN, clock, store, store_url)
        yield account, job, clock, sink
        store.close()


def invites(sink):
    return [m for m in sink.messages if ":invite:" in m["X-Connector-Key"]]


def test_000_story_on_activecampaign(world):
    account, job, clock, sink = world
    run_sync(job)
    for event in story_000("1", clock.now()):
        account.add_event(event)
    clock.advance(minutes=15)
    run_sync(job)
    assert account.value_of("1", "CONNECTOR_LEAD_SCORE") == "30"
    [invite] = invites(sink)
    assert invite["From"] == "Linnea Berg <sales@example-agency.com>"
    assert invite["Reply-To"] == "Linnea Berg <linnea@example-agency.com>"

    clock.advance(minutes=15)
    run_sync(job)
    assert len(invites(sink)) == 1

    clock.advance(days=28)
    run_sync(job)
    assert account.value_of("1", "CONNECTOR_LEAD_SCORE") == "10"
    assert len(invites(sink)) == 1

    for i in range(3):
        account.add_event(Event(f"back-{i}", "1", EventType.PAGE_VIEW, clock.now(),
                                url=f"https://www.example-agency.com/cases/c{i}"))
    clock.advance(minutes=15)
    run_sync(job)
    assert int(account.value_of("1", "CONNECTOR_LEAD_SCORE")) >= 30
    assert len(invites(sink)) == 2


def test_contact_at_minus_30_is_unsubscribed(world):
    account, job, clock, sink = world
    run_sync(job)
    assert account.value_of("2", "CONNECTOR_LEAD_SCORE") == "-30"
    assert account.contact_lists[(2, "3")] == 2
