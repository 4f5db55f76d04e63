"""ActiveCampaign accounts whose activity stream cannot be relied on (issue 21). Real
adapter over HTTP against the sandbox, real SMTP server, SQLite and PostgreSQL.

- A server that lists site visits only in each contact's tracking logs, not in the
  account-wide ``/activities`` stream: the visits a returning lead makes a few minutes
  after our own score write are read on the next incremental sync (the echo of our write
  hides nothing), unless the account is proven to name visits in its stream.
- A stream refused (403, 404) or answered empty: the sync does not fail, reads each
  changed contact's activities instead, and says so in the sync report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.wrappers import Response

from connector.models import Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync

from .helpers import client_config, sandbox_job, story_contact

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
TOKEN = "ac-stream-secret"
SITE = "https://www.example-agency.com"


@pytest.fixture
def make_world(store_url):
    made = []

    def make(stream: str, contacts: int = 1):
        clock = FakeClock(START)
        app = ACSandbox()
        account = app.add_account(TOKEN, ACAccount("nordic", None, clock=clock,
                                                   requests_per_second=100_000,
                                                   stream=stream))
        for i in range(1, contacts + 1):
            account.add_contact(story_contact(str(i), f"lead{i}@lund.dk"))
        sink = SmtpSink().__enter__()
        server = Server(app)
        client = client_config("nordic", "activecampaign", server.url, sink.port,
                               unsubscribe={"enabled": False})
        job = sandbox_job(client, server.url, TOKEN, clock, open_store(store_url), store_url)
        made.append((job.store, server, sink))
        return app, account, job, job.crm, clock, sink

    yield make
    for store, server, sink in made:
        store.close()
        server.stop()
        sink.__exit__(None, None, None)


def _invites(sink: SmtpSink) -> list:
    return [m for m in sink.messages if ":invite:" in m["X-Connector-Key"]]


def _score(account: ACAccount, cid: str = "1") -> int:
    return int(account.value_of(cid, "CONNECTOR_LEAD_SCORE") or 0)


def _engage(account: ACAccount, clock: FakeClock, cid: str = "1") -> None:
    """Opens of four newsletters and clicks in three: a semi-warm lead (14 points)."""
    for n in range(4):
        account.add_event(Event(f"open-{cid}-{n}", cid, EventType.EMAIL_OPEN,
                                clock.now() - timedelta(hours=n + 1), email_id=f"nl-{n}"))
        if n == 3:
            continue
        account.add_event(Event(f"click-{cid}-{n}", cid, EventType.EMAIL_CLICK,
                                clock.now() - timedelta(hours=n + 1), email_id=f"nl-{n}",
                                url=f"{SITE}/blog/{n}"))


def _return_visits(account: ACAccount, clock: FakeClock, cid: str = "1") -> None:
    for n, path in enumerate(("/contact", "/services/seo", "/services/ads")):
        account.add_event(Event(f"visit-{cid}-{n}", cid, EventType.PAGE_VIEW,
                                clock.now(), url=SITE + path))


def test_visits_minutes_after_our_write_are_scored_where_the_stream_lists_no_visits(
        make_world):
    app, account, job, crm, clock, sink = make_world("no_visits")
    assert crm.stream_names_visits is None  # unproven: the safe reading
    _engage(account, clock)
    clock.advance(minutes=1)
    run_sync(job)  # the first sync writes the score: udate moves
    before = _score(account)
    assert 0 < before < 30 and not _invites(sink)

    clock.advance(minutes=4)
    _return_visits(account, clock)  # a visit leaves udate alone, the stream omits it
    clock.advance(minutes=5)
    logs = app.ledger.count("/api/3/contacts/1/trackingLogs")
    report = run_sync(job)
    assert report.status == "ok"
    # its tracking logs are read, though the move of its udate looks like our write's echo
    assert app.ledger.count("/api/3/contacts/1/trackingLogs") == logs + 1
    assert _score(account) == before + 20 >= 30  # contact page 10, two services 5 + 5
    assert len(_invites(sink)) == 1


def test_where_the_stream_is_proven_to_name_visits_the_echo_costs_nothing(make_world):
    app, account, job, crm, clock, sink = make_world("full")
    _engage(account, clock)
    account.add_event(Event("visit-front", "1", EventType.PAGE_VIEW,
                            clock.now() - timedelta(minutes=30), url=SITE + "/"))
    clock.advance(minutes=1)
    run_sync(job)  # the first sync's detection sees the visit named in the stream
    assert crm.stream_names_visits is True
    before = _score(account)
    clock.advance(minutes=9)
    logs = app.ledger.count("/api/3/contacts/1/trackingLogs")
    report = run_sync(job)
    assert report.counts["engagement_unchanged"] == 1  # our write's echo: no read
    assert app.ledger.count("/api/3/contacts/1/trackingLogs") == logs
    clock.advance(minutes=4)
    _return_visits(account, clock)  # named by this stream: read and scored
    clock.advance(minutes=5)
    run_sync(job)
    assert _score(account) == before + 20 and len(_invites(sink)) == 1


@pytest.mark.parametrize("stream,status", [("refused", 403), ("missing", 404)])
def test_a_refused_stream_falls_back_per_contact_and_says_so(make_world, stream, status):
    app, account, job, crm, clock, sink = make_world(stream, contacts=25)
    first = run_sync(job)
    assert first.status == "ok", first.errors
    before = _score(account, "7")
    clock.advance(minutes=15)
    _engage(account, clock, "7")  # opens and clicks: read per contact
    clock.advance(minutes=15)
    report = run_sync(job)
    assert report.status == "ok", report.errors
    assert _score(account, "7") > before
    assert app.ledger.count("/api/3/activities", status=status) >= 1
    assert app.ledger.count("/api/3/contacts/7/trackingLogs") >= 1
    [line] = [d for d in report.degraded if "activity stream" in d]
    assert f"refused with {status}" in line and "read per contact" in line
    assert "Fix:" in line


def test_an_empty_stream_beside_a_contacts_own_activities_falls_back_and_says_so(
        make_world):
    app, account, job, crm, clock, sink = make_world("empty", contacts=25)
    run_sync(job)
    before = _score(account, "7")
    clock.advance(minutes=15)
    _engage(account, clock, "7")
    clock.advance(minutes=15)
    report = run_sync(job)
    assert report.status == "ok", report.errors
    assert _score(account, "7") > before  # not lost to the empty answer
    [line] = [d for d in report.degraded if "activity stream" in d]
    assert "answered empty" in line and "read per contact" in line


def test_a_quiet_account_s_empty_stream_is_no_news(make_world):
    app, account, job, crm, clock, sink = make_world("full", contacts=25)
    run_sync(job)
    clock.advance(minutes=15)
    report = run_sync(job)
    assert not [d for d in report.degraded if "activity stream" in d]


def test_where_each_contacts_activities_are_refused_too_visits_still_count_and_it_is_said(
        make_world):
    app, account, job, crm, clock, sink = make_world("refused", contacts=3)
    app.activities = lambda request, acct: Response(  # a plan without contact activities
        '{"message": "Forbidden"}', status=403, mimetype="application/json")
    _engage(account, clock, "2")
    _return_visits(account, clock, "2")
    clock.advance(minutes=1)
    report = run_sync(job)
    assert report.status == "ok", report.errors
    assert _score(account, "2") == 20  # the visits; the opens and clicks cannot be read
    [line] = [d for d in report.degraded if "activity stream" in d]
    assert "opens, clicks and form submissions are not read" in line and "Fix:" in line


def test_a_contact_pulled_and_named_by_the_stream_is_scored_from_its_pulled_record(
        make_world):
    """The pulled record is newer than state's copy of the contact the stream names."""
    app, account, job, crm, clock, sink = make_world("full")
    run_sync(job)
    clock.advance(minutes=15)
    account.field_values[(1, account._field_id("JOB_TITLE"))] = "CEO"  # edited...
    account.touch(1)
    account.add_event(Event("open-late", "1", EventType.EMAIL_OPEN, clock.now(),
                            email_id="nl-9"))  # ...and an open, named by the stream
    clock.advance(minutes=1)
    run_sync(job)
    assert job.store.get_contacts("nordic", ["1"])["1"].fields["job_title"] == "CEO"
