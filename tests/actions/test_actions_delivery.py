"""Delivery of the outbox against a real SMTP server (aiosmtpd) that misbehaves on demand:
one entry committed as "sending" at a time, stop between messages, and each SMTP answer
classified as not sent (retried with back-off), failed (5xx) or unknown (drop after DATA)."""

from __future__ import annotations

import itertools
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

from connector.actions.context import ActionContext
from connector.actions.deliver import deliver_pending
from connector.errors import NotFoundError, ServerError
from connector.sandbox.memory_crm import MemoryCRM
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.store.base import OutboxEntry

from ..e2e.helpers import client_config

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
COMMAND = re.compile(r"`(connector actions [^`]+)`")


def payload(i: int, **extra) -> dict:
    return {"contact_id": str(i), "email": f"lead{i}@example.com", "first_name": "Maja",
            "last_name": "Lund", "company": "Lund ApS", "job_title": None, "score": 31,
            "tier": "warm", "warm_episode": 1, "interests": {"pricing": 10},
            "top_interest": "pricing", "explanation": [], "journey": [],
            "owner_name": "Linnea Berg", "owner_email": "linnea@example-agency.com",
            "owner_id": "fallback", **extra}


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


@pytest.fixture
def store(store_url):  # SQLite and PostgreSQL
    s = open_store(store_url)
    yield s
    s.close()


def context(sink: SmtpSink, crm=None, **smtp) -> ActionContext:
    cfg = client_config("acme", "hubspot", "http://unused", sink.port,
                        smtp={"host": "127.0.0.1", "port": sink.port, "timeout": 3, **smtp},
                        notify={"enabled": False})
    return ActionContext(client=cfg, crm=crm or MemoryCRM())


def enqueue(store, n: int, kind: str = "invite") -> None:
    with store.transaction() as tx:
        for i in range(1, n + 1):
            tx.enqueue(OutboxEntry("acme", str(i), kind, f"{kind}:{i}:1", payload(i)))


def statuses(store) -> list[str]:
    return [e.status for e in store.outbox("acme")]


# -- item 1: one entry "sending" at a time; a stop finishes the message in flight -------------
def test_stop_finishes_the_message_in_flight_and_leaves_the_rest_pending(store, sink):
    enqueue(store, 6)
    stop = threading.Event()
    sink.on_data = lambda n: stop.set() if n == 2 else None  # SIGTERM while #2 is in flight
    report = deliver_pending(store, "acme", context(sink), NOW, stop=stop)
    assert report.sent == 2 and report.stopped
    assert statuses(store) == ["sent", "sent", "pending", "pending", "pending", "pending"]
    assert len(sink.messages) == 2
    report = deliver_pending(store, "acme", context(sink), NOW)  # the next sync
    assert report.sent == 4 and statuses(store) == ["sent"] * 6
    assert sorted(m["To"] for m in sink.messages) == [f"lead{i}@example.com"
                                                      for i in range(1, 7)]


class _DiesOnThirdSend:
    """The state store of a process that is killed while recording its 3rd send."""

    def __init__(self, store) -> None:
        self.store = store
        self.sends = 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    def mark_sent(self, *args) -> None:
        self.sends += 1
        if self.sends == 3:
            raise KeyboardInterrupt  # the process dies here: nothing after this runs
        self.store.mark_sent(*args)


def test_a_crash_mid_batch_leaves_only_the_message_in_flight_unknown(store, sink):
    enqueue(store, 6)
    with pytest.raises(KeyboardInterrupt):
        deliver_pending(_DiesOnThirdSend(store), "acme", context(sink), NOW)
    assert statuses(store) == ["sent", "sent", "sending", "pending", "pending", "pending"]
    [unknown] = store.recover_interrupted("acme", NOW)  # the next run
    assert unknown.dedupe_key == "invite:3:1"
    report = deliver_pending(store, "acme", context(sink), NOW)
    assert report.sent == 3
    assert statuses(store) == ["sent", "sent", "unknown", "sent", "sent", "sent"]


# -- item 2: classification of SMTP answers ------------------------------------------------
@pytest.mark.parametrize(("mode", "stage"), [("451", "MAIL"), ("451", "RCPT"), ("451", "DATA"),
                                             ("refused", None)])
def test_refused_and_4xx_are_not_sent_and_retried_with_back_off(store, sink, mode, stage):
    enqueue(store, 2)
    sink.set_mode(mode, fail_at=stage)
    report = deliver_pending(store, "acme", context(sink), NOW)
    assert (report.sent, report.retrying, report.failed, report.uncertain) == (0, 2, 0, 0)
    rows = store.outbox("acme")
    assert [r.status for r in rows] == ["pending", "pending"]
    assert all(r.next_attempt_at == NOW + timedelta(minutes=2) for r in rows)
    expected = "451" if mode == "451" else "connection refused"
    assert all(expected in r.last_error for r in rows), rows[0].last_error
    assert all("next attempt at 2026-11-02 09:02 UTC" in line for line in report.errors)
    # not due yet: nothing is tried; once due and the server is back, each goes out once
    sink.set_mode("ok")
    assert deliver_pending(store, "acme", context(sink), NOW + timedelta(minutes=1)).sent == 0
    assert deliver_pending(store, "acme", context(sink), NOW + timedelta(minutes=2)).sent == 2
    assert len(sink.messages) == 2 and statuses(store) == ["sent", "sent"]


@pytest.mark.parametrize("stage", ["MAIL", "RCPT", "DATA"])
def test_5xx_fails_with_the_servers_reason_and_names_the_requeue_command(store, sink, stage):
    enqueue(store, 1)
    sink.set_mode("550", fail_at=stage)
    report = deliver_pending(store, "acme", context(sink), NOW)
    [row] = store.outbox("acme")
    assert row.status == "failed" and "550 5.1.1 Mailbox unavailable" in row.last_error
    [line] = report.errors
    assert "failed, not sent" in line
    assert COMMAND.findall(line) == [f"connector actions retry --client acme --id {row.id}"]


def test_a_drop_after_the_message_was_handed_over_is_unknown(store, sink):
    enqueue(store, 2)
    sink.set_mode("drop", drop_delivers=True)
    report = deliver_pending(store, "acme", context(sink), NOW)
    assert statuses(store) == ["unknown", "unknown"] and report.uncertain == 2
    assert all("resolve --client acme --id" in line for line in report.errors)
    assert deliver_pending(store, "acme", context(sink), NOW + timedelta(days=1)).sent == 0


def test_a_timeout_before_data_is_not_sent_and_after_data_is_unknown(store, sink):
    enqueue(store, 1)
    sink.set_mode("slow", delay=1.5)  # RCPT answers after the client's 0.5 s timeout
    deliver_pending(store, "acme", context(sink, timeout=0.5), NOW)
    [row] = store.outbox("acme")
    assert row.status == "pending" and "timed out" in row.last_error
    sink.set_mode("ok")
    # the final reply comes once the client has given up on it (any other reply may take
    # its time on a busy machine: only the held one times out)
    gave_up = threading.Event()
    sink.on_data = lambda n: gave_up.wait(60)
    deliver_pending(store, "acme", context(sink, timeout=3), NOW + timedelta(minutes=5))
    gave_up.set()
    [row] = store.outbox("acme")
    assert row.status == "unknown" and "handed over" in row.last_error


def test_an_unreachable_server_is_retried_for_24_hours_and_every_message_is_true(store, sink):
    enqueue(store, 1)
    sink.set_mode("refused")
    ctx = context(sink)
    seen: list[tuple[timedelta, str, str]] = []
    for run in range(4 * 26):  # a sync every 15 minutes for 26 hours
        now = NOW + timedelta(minutes=15 * run)
        report = deliver_pending(store, "acme", ctx, now)
        [row] = store.outbox("acme")
        for line in report.errors:
            seen.append((now - NOW, row.status, line))
        if row.status == "failed":
            break
    attempts = [(age, status) for age, status, _ in seen]
    assert attempts[4][1] == "pending"  # the 5th attempt no longer gives up
    assert all(status == "pending" for age, status in attempts if age < timedelta(hours=24))
    assert attempts[-1] == (timedelta(hours=24), "failed")
    for _age, status, line in seen:
        if status == "pending":
            assert "next attempt at" in line and "failed" not in line
        else:
            assert "not sent after" in line and "connector actions retry --client acme" in line
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(attempts)]
    assert gaps[0] < gaps[3] <= timedelta(hours=1)  # exponential back-off, capped


def test_the_retry_window_is_read_from_the_client_file(store, sink):
    enqueue(store, 1)
    sink.set_mode("451", fail_at="RCPT")
    ctx = context(sink, retry_for_hours=0.5)
    for minutes in range(0, 61, 5):
        deliver_pending(store, "acme", ctx, NOW + timedelta(minutes=minutes))
    [row] = store.outbox("acme")
    assert row.status == "failed" and "over 30 minutes" in row.last_error


class _FlakyCRM(MemoryCRM):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def add_tag(self, contact, tag) -> None:
        raise self.error


@pytest.mark.parametrize(("error", "status"), [
    (ServerError("503 after retries", crm="activecampaign", client="acme", endpoint="tags",
                 status=503), "pending"),
    (NotFoundError("no such tag list", crm="activecampaign", client="acme", endpoint="tags",
                   status=404), "failed")])
def test_crm_side_actions_retry_later_or_fail_like_mail(store, sink, error, status):
    enqueue(store, 1)
    ctx = context(sink, crm=_FlakyCRM(error))
    ctx = ActionContext(client=ctx.client.model_copy(update={"invite": ctx.client.invite
                        .model_copy(update={"via": "activecampaign_tag", "tag": "warm"})}),
                        crm=ctx.crm)
    report = deliver_pending(store, "acme", ctx, NOW)
    [row] = store.outbox("acme")
    assert row.status == status and str(error.status) in row.last_error
    assert ("next attempt at" in report.errors[0]) == (status == "pending")


# -- the sync: job.stop reaches delivery; the report says what delivery did ----------------
def test_a_sync_stopped_mid_delivery_leaves_the_rest_pending_and_reports_retries(store, sink):
    from connector.sandbox.clock import FakeClock
    from connector.sync import run_sync
    from connector.sync.runtime import make_job

    from ..e2e.helpers import settings, story_contact
    from ..scoring.scenarios import story_000

    clock = FakeClock(NOW)
    crm = MemoryCRM(clock=clock)
    crm.load([story_contact(str(i), f"lead{i}@example.com") for i in range(1, 4)],
             [e for i in range(1, 4) for e in story_000(str(i), NOW)])
    job = make_job(context(sink).client, settings(store.url), store, crm=crm, clock=clock,
                   env={"TEST_TOKEN": "t"})
    sink.on_data = lambda n: job.stop.set()  # SIGTERM while the first invite is in flight
    report = run_sync(job)
    assert report.interrupted and report.counts["actions_sent"] == 1
    assert sorted(statuses(store)) == ["pending", "pending", "sent"]
    sink.on_data = None
    sink.set_mode("451", fail_at="RCPT")
    job.stop.clear()
    clock.advance(minutes=15)
    report = run_sync(job)
    assert "2 actions not sent (retried later)" in report.summary()
    # recorded with the run one per entry; the report groups them with the command
    assert sum("next attempt at" in line for line in report.all_errors) == 2
    [waiting] = report.left or []
    assert waiting.startswith("waiting: 2 invite action(s), not sent yet: ") and \
        "451" in waiting and "contacts 2, 3;" in waiting, waiting
