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

Calls: an entry planned in this run carries the marker as this run pulled it
(:func:`note_pulled`), so delivering it reads nothing again; only an entry planned in an
earlier run (released, retried, queued) reads the marker fresh. The markers of one
delivery are written together (:class:`Marks`: the CRM's batch update / bulk import),
after the entries are recorded as sent, at the latest when the delivery ends.

The marker's value is the planning time, not the sending time, so the invite and the
note of one warm-up (planned together) never hide each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from connector import logs
from connector.errors import CRMError
from connector.models import Contact, Transition, TransitionKind, utc

if TYPE_CHECKING:
    from connector.actions.context import ActionContext
    from connector.store.base import OutboxEntry, StoredContact

log = logging.getLogger("connector.actions")

MARKED_KINDS = ("invite", "notify")
ALREADY = "already invited per CRM marker"
# CRMs keep the marker to the second (ActiveCampaign) or millisecond (HubSpot): a marker
# this close to an entry's plan is that plan's own (written by its sibling invite or note)
PRECISION = timedelta(seconds=1)
# the payload key of the marker as the planning run pulled it: {"run": id, "value": iso}
PULLED = "crm_marker"
# markers written per call at most (HubSpot's batch update takes 100 inputs; the delivery
# flushes at this count so a crash leaves few sent entries unmarked)
MARKS_PER_FLUSH = 100


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


def note_pulled(entries: Sequence[OutboxEntry], contact: Contact, run_id: str | None) -> None:
    """Keep in each invite / note planned for ``contact`` the marker as run ``run_id``
    pulled it (``contact`` came from the CRM in that run), so delivering it in the same
    run needs no second read."""
    if run_id is None:
        return
    value = utc(contact.invited_at).isoformat() if contact.invited_at else None
    for entry in entries:
        if entry.kind in MARKED_KINDS:
            entry.payload[PULLED] = {"run": run_id, "value": value}


def pulled_marker(entry: OutboxEntry, ctx: ActionContext) -> tuple[bool, datetime | None]:
    """(known, marker): the marker this run pulled for the entry's contact, when the entry
    was planned in the run now delivering it (``ctx.run_id``); else (False, None)."""
    pulled = entry.payload.get(PULLED)
    if ctx.run_id is None or not isinstance(pulled, dict) or pulled.get("run") != ctx.run_id:
        return False, None
    raw = pulled.get("value")
    try:
        return True, utc(datetime.fromisoformat(str(raw))) if raw else None
    except ValueError:
        return False, None


class Marks:
    """The markers of one delivery, written together (one batch call per
    ``MARKS_PER_FLUSH``) rather than one call each; :meth:`flush` writes what is left.
    A contact's email is kept only where this run pulled it: a CRM that writes by email
    (ActiveCampaign's bulk import) writes the others by id."""

    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx
        self.pending: dict[str, tuple[Contact, datetime]] = {}

    def add(self, contact: Contact, at: datetime) -> None:
        held = self.pending.get(contact.id)
        if held is None or held[1] < at:
            self.pending[contact.id] = (contact, at)
        if len(self.pending) >= MARKS_PER_FLUSH:
            self.flush()

    def flush(self) -> None:
        """Write the markers held; a failure never undoes a delivery (it is logged)."""
        marks, self.pending = list(self.pending.values()), {}
        if not marks:
            return
        try:
            report = self.ctx.crm.set_invited_at_many(marks)
        except (CRMError, OSError) as exc:
            failed = {c.id: logs.mask(str(exc)) for c, _ in marks}
        else:
            failed = dict(report.failed)
        for cid, why in failed.items():
            log.warning("delivered, but could not write the warm-up marker of contact %s "
                        "(a re-deploy with a fresh state could invite again): %s", cid, why)


def deliver_once(entry: OutboxEntry, ctx: ActionContext, record: Callable[[str], None],
                 deliver: Callable[[OutboxEntry, ActionContext, Callable[[str], None]], None],
                 marks: Marks | None = None) -> None:
    """``deliver(entry, ctx, record)`` unless the CRM's marker shows a later plan was
    already acted on (then ``record`` says so and nothing is sent); once an invite or a
    note is recorded as delivered, the marker is written (with ``marks``: added to the
    delivery's batch, written by its flush)."""
    if entry.kind not in MARKED_KINDS:
        deliver(entry, ctx, record)
        return
    contact = Contact(id=entry.contact_id, email=entry.payload.get("email"))
    planned = planned_at(entry)
    known, marker = pulled_marker(entry, ctx)
    if not known:
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
            if marks is not None:  # with the email only where this run pulled it
                marks.add(contact if known else replace(contact, email=None), planned)
            else:
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
