"""Deliver the outbox, one entry at a time: commit it as "sending", act, record the outcome.

Outcomes (see docs/reliability.md for what a person does with each):

* sent: the SMTP server accepted the message (final 250) or the CRM call succeeded;
* pending with ``next_attempt_at``: not sent, retried with back-off (refused, timeout
  before DATA, 4xx, CRM RetryLater) until ``smtp.retry_for_hours`` after the first attempt;
* failed: refused for good (5xx, CRM 4xx, bad data) or retried past the window;
* unknown: the connection broke after the message was handed over.

A stop request (SIGINT/SIGTERM) is honoured between entries: the one in flight finishes and
is recorded, the rest stay pending.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connector import logs
from connector.actions import marker
from connector.actions.context import ActionContext
from connector.actions.mail import (
    NotSent,
    Rejected,
    SendUncertain,
    invite_message,
    notify_message,
    send,
)
from connector.errors import CRMError, FixConfiguration, RetryLater, StateError
from connector.models import Contact, Owner
from connector.store.base import OutboxEntry, Store

log = logging.getLogger("connector.actions")

FIRST_RETRY = timedelta(minutes=2)
MAX_RETRY_GAP = timedelta(hours=1)
Record = Callable[[str], None]


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    stopped: bool = False
    errors: list[str] = field(default_factory=list)


def actions_command(client: str, verb: str, entry_id: int | None, *flags: str) -> str:
    """The `connector actions` command line for one entry (or the whole client)."""
    target = f" --id {entry_id}" if entry_id is not None else ""
    return " ".join(["`connector actions", verb, "--client", client + target, *flags]) + "`"


def settle_hint(client: str, entry: OutboxEntry) -> str:
    """What a person does with an "unknown" entry, naming the commands."""
    return ("check whether it arrived (Message-ID/X-Connector-Key "
            f"{client}:{entry.dedupe_key}), then run "
            f"{actions_command(client, 'resolve', entry.id, '--sent')} if it did or "
            f"{actions_command(client, 'resolve', entry.id, '--not-sent')} to send it again")


def deliver_pending(store: Store, client: str, ctx: ActionContext, now: datetime,
                    stop: threading.Event | None = None) -> DeliveryReport:
    """Deliver every due pending entry of ``client`` (oldest first) until done or ``stop``."""
    report = DeliveryReport()
    window = timedelta(hours=ctx.client.smtp.retry_for_hours)
    after = 0
    marks = marker.Marks(ctx)  # the markers of this delivery: written in batches
    try:
        while True:
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            entry = store.claim_next(client, now, after)
            if entry is None:
                break
            after = entry.id or after
            _deliver_one(store, client, ctx, entry, now, window, report, marks)
    finally:
        marks.flush()
    return report


def _deliver_one(store: Store, client: str, ctx: ActionContext, entry: OutboxEntry,
                 now: datetime, window: timedelta, report: DeliveryReport,
                 marks: marker.Marks | None = None) -> None:
    what = f"{entry.kind} for contact {entry.contact_id} (outbox id {entry.id})"
    oid = _id(entry)
    done: list[str] = []

    def record(detail: str) -> None:
        if not done:
            store.mark_sent(oid, now, detail)
            done.append(detail)

    try:
        # the CRM's marker: never twice
        marker.deliver_once(entry, ctx, record, deliver, marks)
    except StateError:
        raise  # the state database is down: nothing can be recorded; the sync fails
    except Exception as exc:
        if done:  # it was done and recorded; what broke afterwards does not change that
            log.warning("%s delivered; afterwards: %s", what, logs.mask(str(exc)))
            report.sent += 1
            return
        _settle_error(store, client, entry, now, window, exc, what, report)
    else:
        record(f"{entry.kind} done")
        report.sent += 1
        log.info("%s delivered (%s)", what, done[0])


def _settle_error(store: Store, client: str, entry: OutboxEntry, now: datetime,
                  window: timedelta, exc: Exception, what: str, report: DeliveryReport) -> None:
    error = logs.mask(str(exc))
    if isinstance(exc, SendUncertain):
        store.mark_unknown(_id(entry), error, now)
        report.uncertain += 1
        report.errors.append(f"{what}: outcome unknown ({error}); "
                             + settle_hint(client, entry))
    elif isinstance(exc, (NotSent, RetryLater)):
        _not_sent(store, client, entry, now, window, error, what, report)
    elif isinstance(exc, (Rejected, CRMError, ValueError)):
        _failed(store, client, entry, now, error, what, report)
    else:  # a bug or bad data before anything was handed over: say so, go on
        log.error("%s could not be delivered: %s: %s", what, type(exc).__name__, error)
        _failed(store, client, entry, now, f"{type(exc).__name__}: {error}", what, report)


def _not_sent(store: Store, client: str, entry: OutboxEntry, now: datetime,
              window: timedelta, error: str, what: str, report: DeliveryReport) -> None:
    first = entry.first_attempt_at or now
    deadline = first + window
    if now >= deadline:
        _failed(store, client, entry, now, f"not sent after {entry.attempts} attempts over "
                f"{_hours(now - first)}: {error}", what, report)
        return
    gap = min(FIRST_RETRY * 2 ** max(entry.attempts - 1, 0), MAX_RETRY_GAP)
    next_at = min(now + gap, deadline)
    store.defer(_id(entry), error, next_at, now)
    report.retrying += 1
    report.errors.append(f"{what} not sent ({error}); next attempt at "
                         f"{next_at:%Y-%m-%d %H:%M} UTC (attempt {entry.attempts}, retried "
                         f"until {deadline:%Y-%m-%d %H:%M} UTC)")


def _failed(store: Store, client: str, entry: OutboxEntry, now: datetime, error: str,
            what: str, report: DeliveryReport) -> None:
    store.mark_failed(_id(entry), error, now)
    report.failed += 1
    report.errors.append(f"{what} failed, not sent: {error}; once the cause is fixed, "
                         f"requeue it with {actions_command(client, 'retry', entry.id)}")


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours >= 1 else f"{span.total_seconds() / 60:.0f} minutes"


def deliver(entry: OutboxEntry, ctx: ActionContext, record: Record) -> None:
    """Carry out one entry; ``record(detail)`` is called the moment it is done (for mail:
    right after the server's final 250, before QUIT)."""
    cfg = ctx.client
    payload = entry.payload
    contact = Contact(id=entry.contact_id, email=payload.get("email"),
                      owner_id=payload.get("owner_id"))
    if entry.kind == "invite":
        if not payload.get("email") and cfg.invite.via == "smtp":
            raise FixConfiguration("the contact has no email address", crm=ctx.crm.kind,
                                   client=cfg.name, endpoint="invite",
                                   fix="add an email in the CRM; the invite is not sent")
        _invite(entry, ctx, contact, record)
    elif entry.kind == "notify":
        message = notify_message(cfg, payload, entry.dedupe_key)
        if cfg.notify.via == "hubspot_task":
            task = ctx.crm.create_task(contact, _owner(payload), _notify_subject(payload),
                                       message.get_content())
            record(f"task {task}")
        else:
            to = ", ".join(cfg.notify.to) or payload["owner_email"]
            send(cfg, message, ctx.smtp_password, lambda: record(f"notified {to}"))
    elif entry.kind == "unsubscribe":
        ctx.crm.unsubscribe(contact, cfg.unsubscribe.list_id)
        record("unsubscribed")
    else:
        raise ValueError(f"unknown action kind {entry.kind!r}")


def _invite(entry: OutboxEntry, ctx: ActionContext, contact: Contact, record: Record) -> None:
    cfg = ctx.client
    payload = entry.payload
    via = cfg.invite.via
    if via == "smtp":
        message = invite_message(cfg, payload, entry.dedupe_key)
        detail = f"emailed {payload['email']} from {payload['owner_name']}"
        send(cfg, message, ctx.smtp_password, lambda: record(detail))
    elif via == "hubspot_task":
        message = invite_message(cfg, payload, entry.dedupe_key)
        task = ctx.crm.create_task(contact, _owner(payload), message["Subject"],
                                   message.get_content())
        record(f"task {task} for {payload['owner_name']}")
    elif via == "activecampaign_tag":
        ctx.crm.add_tag(contact, cfg.invite.tag or "warm-lead")
        record(f"tagged {cfg.invite.tag}")
    else:
        ctx.crm.start_automation(contact, cfg.invite.automation_id or "")
        record(f"automation {cfg.invite.automation_id} started")


def _id(entry: OutboxEntry) -> int:
    """The row id of an entry read from the outbox (only entries not yet stored lack one)."""
    if entry.id is None:
        raise ValueError(f"outbox entry {entry.dedupe_key} was never stored")
    return entry.id


def _owner(payload: dict) -> Owner:
    return Owner(id=payload.get("owner_id") or "", name=payload["owner_name"],
                 email=payload["owner_email"])


def _notify_subject(payload: dict) -> str:
    return f"Warm lead: {payload.get('email')} ({payload['score']} points)"
