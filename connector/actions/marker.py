"""The warm-up marker kept in the CRM, so re-deploying never invites a lead twice.

The state database keys each invite by warm-up episode; if that database is lost, deleted
or replaced by a fresh one, every warm lead would look new and be invited again. So after
an invite or a note to sales is delivered, the connector also writes the moment that
warm-up was planned into the contact (``connector_invited_at``, see
``connector.crm.base.MARKER_NAME``), and checks it twice:

* planning (:func:`acted_in_crm`): a lead turning warm is not invited again when the CRM
  says this warm-up was already acted on: the marker is set and the state never saw the
  lead cold after it (a fresh state knows nothing, so it counts as the same warm-up). A
  lead the state saw cool down after the marker gets a new invite;
* delivery (:func:`deliver_once`): an entry is not sent when the CRM's marker is newer
  than the entry's own planning time (another deployment acted on a later plan).

The marker's value is the planning time, not the sending time, so the invite and the
note of one warm-up (planned together) never hide each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from connector import logs
from connector.errors import CRMError
from connector.models import Contact, Transition, TransitionKind, utc

if TYPE_CHECKING:
    from connector.actions.base import ActionContext
    from connector.store.base import OutboxEntry, StoredContact

log = logging.getLogger("connector.actions")

MARKED_KINDS = ("invite", "notify")
ALREADY = "already invited per CRM marker"
# CRMs keep the marker to the second (ActiveCampaign) or millisecond (HubSpot): a marker
# this close to an entry's plan is that plan's own (written by its sibling invite or note)
PRECISION = timedelta(seconds=1)


def acted_in_crm(contact: Contact, seen_cold_at: datetime | None) -> bool:
    """True when the CRM's marker says the warm-up now starting was already acted on.

    ``seen_cold_at`` is when the state last saw the lead not warm (None: the state never
    saw the contact, e.g. a fresh database)."""
    if contact.invited_at is None:
        return False
    return seen_cold_at is None or utc(contact.invited_at) > utc(seen_cold_at)


def skips_warm_up(change: Transition, contact: Contact,
                  previous: StoredContact | None) -> bool:
    """True when ``change`` starts a warm-up the CRM's marker says was already acted on:
    nothing is planned for it (see :func:`acted_in_crm`)."""
    if change.kind is not TransitionKind.BECAME_WARM:
        return False
    return acted_in_crm(contact, previous.last_scored_at if previous is not None else None)


def planned_at(entry: OutboxEntry) -> datetime | None:
    """When the entry's warm-up was planned (the payload says; older entries: created)."""
    raw = entry.payload.get("planned_at")
    if raw:
        try:
            return utc(datetime.fromisoformat(str(raw)))
        except ValueError:
            pass
    return utc(entry.created_at) if entry.created_at else None


def deliver_once(entry: OutboxEntry, ctx: ActionContext, record: Callable[[str], None],
                 deliver: Callable[[OutboxEntry, ActionContext, Callable[[str], None]], None],
                 ) -> None:
    """``deliver(entry, ctx, record)`` unless the CRM's marker shows a later plan was
    already acted on (then ``record`` says so and nothing is sent); once an invite or a
    note is recorded as delivered, the marker is written."""
    if entry.kind not in MARKED_KINDS:
        deliver(entry, ctx, record)
        return
    contact = Contact(id=entry.contact_id, email=entry.payload.get("email"))
    planned = planned_at(entry)
    marker = _read(ctx, contact)
    if marker is not None and planned is not None and utc(marker) > planned:
        record(f"{ALREADY} ({utc(marker).isoformat()})")
        return
    done: list[str] = []

    def recorded(detail: str) -> None:
        record(detail)
        done.append(detail)

    try:
        deliver(entry, ctx, recorded)
    finally:
        if done and planned is not None and (marker is None
                                             or utc(marker) < planned - PRECISION):
            _write(ctx, contact, planned)


def _read(ctx: ActionContext, contact: Contact) -> datetime | None:
    """The marker now; a CRM that cannot say is treated as "no marker" (the state's own
    once-per-warm-up key still holds), with a warning."""
    try:
        return ctx.crm.get_invited_at(contact)
    except (CRMError, OSError) as exc:
        log.warning("could not read the warm-up marker of contact %s: %s", contact.id,
                    logs.mask(str(exc)))
        return None


def _write(ctx: ActionContext, contact: Contact, at: datetime) -> None:
    """Write the marker after a delivery; a failure never undoes the delivery."""
    try:
        ctx.crm.set_invited_at(contact, at)
    except (CRMError, OSError) as exc:
        log.warning("delivered, but could not write the warm-up marker of contact %s "
                    "(a re-deploy with a fresh state could invite again): %s", contact.id,
                    logs.mask(str(exc)))
