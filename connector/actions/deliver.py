"""Deliver the outbox: claim (committed as "sending"), act, mark sent or failed."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime

from connector import logs
from connector.actions.base import ActionContext
from connector.actions.mail import SendUncertain, invite_message, notify_message, send
from connector.errors import CRMError, FixConfiguration, RetryLater
from connector.models import Contact
from connector.store.base import OutboxEntry, Store

log = logging.getLogger("connector.actions")


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_pending(store: Store, client: str, ctx: ActionContext, now: datetime,
                    limit: int | None = None) -> DeliveryReport:
    report = DeliveryReport()
    for entry in store.claim_outbox(client, limit, now):
        try:
            detail = deliver(entry, ctx)
        except SendUncertain as exc:
            store.mark_unknown(entry.id, str(exc), now)
            report.uncertain += 1
            report.errors.append(f"{entry.kind} for contact {entry.contact_id}: outcome "
                                 f"unknown ({exc}); check the mailbox before resending")
        except (RetryLater, OSError, smtplib.SMTPConnectError,
                smtplib.SMTPServerDisconnected) as exc:
            store.mark_failed(entry.id, logs.mask(str(exc)), True, now)
            report.failed += 1
            report.errors.append(f"{entry.kind} for contact {entry.contact_id} will be "
                                 f"retried: {logs.mask(str(exc))}")
        except (CRMError, smtplib.SMTPException, ValueError) as exc:
            store.mark_failed(entry.id, logs.mask(str(exc)), False, now)
            report.failed += 1
            report.errors.append(f"{entry.kind} for contact {entry.contact_id} failed: "
                                 f"{logs.mask(str(exc))}")
        else:
            store.mark_sent(entry.id, now, detail)
            report.sent += 1
            log.info("%s for contact %s delivered (%s)", entry.kind, entry.contact_id, detail)
    return report


def deliver(entry: OutboxEntry, ctx: ActionContext) -> str:
    """Carry out one entry; returns a short detail for the outbox row."""
    cfg = ctx.client
    payload = entry.payload
    contact = Contact(id=entry.contact_id, email=payload.get("email"),
                      owner_id=payload.get("owner_id"))
    if entry.kind == "invite":
        if not payload.get("email") and cfg.invite.via == "smtp":
            raise FixConfiguration("the contact has no email address", crm=ctx.crm.kind,
                                   client=cfg.name, endpoint="invite",
                                   fix="add an email in the CRM; the invite is not sent")
        return _invite(entry, ctx, contact)
    if entry.kind == "notify":
        if cfg.notify.via == "hubspot_task":
            task = ctx.crm.create_task(contact, _owner(payload), _notify_subject(payload),
                                       notify_message(cfg, payload, entry.dedupe_key)
                                       .get_content())
            return f"task {task}"
        send(cfg, notify_message(cfg, payload, entry.dedupe_key), ctx.smtp_password)
        return f"notified {', '.join(cfg.notify.to) or payload['owner_email']}"
    if entry.kind == "unsubscribe":
        ctx.crm.unsubscribe(contact, cfg.unsubscribe.list_id)
        return "unsubscribed"
    raise ValueError(f"unknown action kind {entry.kind!r}")


def _invite(entry: OutboxEntry, ctx: ActionContext, contact: Contact) -> str:
    cfg = ctx.client
    payload = entry.payload
    via = cfg.invite.via
    if via == "smtp":
        message = invite_message(cfg, payload, entry.dedupe_key)
        send(cfg, message, ctx.smtp_password)
        return f"emailed {payload['email']} from {payload['owner_name']}"
    if via == "hubspot_task":
        message = invite_message(cfg, payload, entry.dedupe_key)
        task = ctx.crm.create_task(contact, _owner(payload), message["Subject"],
                                   message.get_content())
        return f"task {task} for {payload['owner_name']}"
    if via == "activecampaign_tag":
        ctx.crm.add_tag(contact, cfg.invite.tag or "warm-lead")
        return f"tagged {cfg.invite.tag}"
    ctx.crm.start_automation(contact, cfg.invite.automation_id or "")
    return f"automation {cfg.invite.automation_id} started"


def _owner(payload: dict) -> object:
    from connector.models import Owner

    return Owner(id=payload.get("owner_id") or "", name=payload["owner_name"],
                 email=payload["owner_email"])


def _notify_subject(payload: dict) -> str:
    return f"Warm lead: {payload.get('email')} ({payload['score']} points)"
