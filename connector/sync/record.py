"""Recording one batch: the contacts' new state, their transitions and the actions they
cause (held after a model change, or on a first sync with ``first_sync: hold``), the
failed writes; the run's effects save them (``effects``: one transaction) or list them (a
dry run)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from hashlib import sha256

from connector.actions.base import owner_warning, plan_actions
from connector.actions.marker import note_pulled, skips_warm_up
from connector.models import (
    Contact,
    ContactState,
    Event,
    ScoreResult,
    Transition,
    TransitionKind,
)
from connector.scoring import transitions
from connector.store.base import OutboxEntry, StoredContact, StoredModel
from connector.sync import own_writes
from connector.sync.context import BatchRecord, RunContext
from connector.sync.job import FIRST_SYNC_HOLD, SyncJob
from connector.sync.model_change import ACTING, ModelChange
from connector.sync.report import SyncReport

log = logging.getLogger("connector.sync")

_ALREADY = {TransitionKind.BECAME_WARM: "already warm",
            TransitionKind.HIT_FLOOR: "already at the floor"}


@dataclass
class Scored:
    contact: Contact
    result: ScoreResult
    previous: StoredContact | None
    in_crm: int | None
    new_events: list[Event]
    events: list[Event]
    from_crm: bool = False  # read from the CRM in this run (its warm-up marker is current)


@dataclass
class Written:
    """The batch's score writes: the changed scores, those that failed, and when the CRM
    confirmed the rest (None: nothing was written)."""

    to_write: dict[str, int]
    failed: dict[str, str]
    at: datetime | None = None

    def ok(self, contact_id: str) -> bool:
        return contact_id in self.to_write and contact_id not in self.failed


def record(ctx: RunContext, scored: list[Scored], written: Written,
           skipped: dict[str, str]) -> None:
    """Plan the state, transitions and outbox entries of one batch; the run's effects save
    them."""
    batch = BatchRecord(written.to_write, written.failed, skipped, unchanged=[
        s.contact.id for s in scored if s.contact.id not in written.to_write])
    model_change = ModelChange(ctx.store, ctx.client, ctx.job.model_hash)
    for s in scored:
        state, changes = _next_state(ctx.job, s, written=written.ok(s.contact.id),
                                     written_at=written.at)
        # on the client's first sync, a contact the state never saw is already warm or at
        # the floor before the connector was there: ``first_sync`` says what happens
        first = ctx.report.first_sync if s.previous is None else None
        _count_first_sync(ctx.report, s, changes, first)
        if first == "baseline":
            state, changes = _baseline(state, changes)
        batch.rows.append(state)
        batch.transitions.extend(changes)
        batch.events.extend(s.new_events)
        holds = _holds(ctx, model_change, s, changes, first)
        for change in changes:
            batch.outbox.extend(_actions(ctx, s, change, holds.get(change.kind)))
    ctx.report.counts["skipped"] += len(skipped)
    ctx.effects.save_batch(ctx, batch)


def _actions(ctx: RunContext, s: Scored, change: Transition,
             hold: str | None) -> list[OutboxEntry]:
    """The outbox entries ``change`` calls for, held for a person with ``hold``."""
    report = ctx.report
    report.counts[change.kind.value] += 1
    planned = plan_actions(change, s.result, s.contact, s.events, ctx.job.actions, s.previous)
    if s.from_crm:  # delivered in this run without reading the marker again
        note_pulled(planned, s.contact, report.run_id)
    report.counts["already_invited"] += skips_warm_up(change, s.contact, s.previous)
    warnings = {w for e in planned if (w := owner_warning(e.payload))}
    report.counts["owner_fallback"] += bool(warnings)
    for note in sorted(warnings):
        if report.warn(note):
            log.warning("%s", note)
    if hold is None:
        return planned
    if hold.startswith(FIRST_SYNC_HOLD):
        report.counts["actions_held_first_sync"] += len(planned)
    return [replace(e, status="held", hold_reason=hold) for e in planned]


def _holds(ctx: RunContext, model_change: ModelChange, s: Scored, changes: list[Transition],
           first: str | None) -> dict[TransitionKind, str]:
    """Why the actions of each held transition wait for a person: the model change alone
    causes it (``on_model_change: hold``), else the first sync holds it."""
    held, label = _held(ctx, model_change, s, changes)
    job = ctx.job
    holds = {kind: (f"model change: {label} -> {job.model.name} ({job.model_hash}) alone "
                    f"causes this {kind.value}") for kind in held}
    if first == "hold":
        for kind in ACTING:
            holds.setdefault(kind, f"{FIRST_SYNC_HOLD}{_ALREADY[kind]} when the client was "
                                   "connected (first_sync: hold)")
    return holds


def _next_state(job: SyncJob, s: Scored, *, written: bool,
                written_at: datetime | None = None) -> tuple[StoredContact, list[Transition]]:
    prev = s.previous
    changes, state = transitions(_before(prev), s.result, job.model)
    explanation = [
        {"rule_id": h.rule_id, "description": h.description, "points": h.points,
         "topic": h.topic, "evidence": list(h.evidence)}
        for h in s.result.explanation
    ]
    digest = sha256(json.dumps(explanation, sort_keys=True).encode()).hexdigest()[:16]
    if written:
        stored_score: int | None = s.result.total
    elif s.in_crm is not None and prev is None:
        stored_score = s.in_crm
    else:
        stored_score = prev.score if prev else s.in_crm
    row = StoredContact(
        client=job.client,
        contact_id=s.contact.id,
        email=s.contact.email,
        score=stored_score,
        tier=state.tier,
        warm=state.warm,
        at_floor=state.at_floor,
        warm_episode=state.warm_episode,
        next_change_at=s.result.next_change_at,
        explanation_digest=digest,
        explanation=explanation,
        interests=dict(s.result.interests),
        activity_signature=s.contact.activity_signature,
        last_scored_at=s.result.scored_at,
        updated_at_crm=s.contact.updated_at,
        owner_id=s.contact.owner_id,
        fields=dict(s.contact.fields),
        total=s.result.total,
        created_at_crm=s.contact.created_at,
        is_customer=s.contact.is_customer,
        customer_at=s.contact.customer_at,
        model_hash=job.model_hash,
        **(own_writes.written(s.contact, s.result.total, written_at or s.result.scored_at,
                              job.score_property.name)
           if written else own_writes.carried(prev)),
    )
    return row, changes


def _count_first_sync(report: SyncReport, s: Scored, changes: list[Transition],
                      first: str | None) -> None:
    """Count (and list, for sales) the contacts a first sync finds already warm or already
    at the floor."""
    if first is None:
        return
    for change in changes:
        if change.kind is TransitionKind.BECAME_WARM:
            report.counts["first_sync_warm"] += 1
            f = s.contact.fields or {}
            name = " ".join(str(p) for p in (f.get("first_name"), f.get("last_name")) if p)
            report.list_already_warm({"contact_id": s.contact.id, "email": s.contact.email,
                                      "name": name or None, "score": s.result.total,
                                      "tier": s.result.tier})
        elif change.kind is TransitionKind.HIT_FLOOR:
            report.counts["first_sync_floor"] += 1


def _baseline(state: StoredContact, changes: list[Transition],
              ) -> tuple[StoredContact, list[Transition]]:
    """``first_sync: baseline``: the contact is recorded as it is (warm, at the floor) but
    its turning warm or reaching the floor is neither recorded as a transition nor acted
    on. A lead already warm is kept in warm-up 0, which no invite is ever keyed by (`connector
    leads --already-warm` lists them): when it cools and warms again, warm-up 1 starts and
    is invited like any other."""
    kept = [c for c in changes if c.kind not in ACTING]
    return replace(state, warm_episode=0), kept


def _before(prev: StoredContact | None) -> ContactState | None:
    return (ContactState(score=prev.score if prev.score is not None else 0, tier=prev.tier,
                         warm=prev.warm, at_floor=prev.at_floor,
                         warm_episode=prev.warm_episode)
            if prev is not None and prev.tier else None)


def _held(ctx: RunContext, model_change: ModelChange, s: Scored,
          changes: list[Transition]) -> tuple[set[TransitionKind], str]:
    """The transitions of ``s`` whose actions wait for a person: those the model change
    alone causes (``on_model_change: hold``, the default)."""
    if ctx.config.on_model_change != "hold" or s.previous is None:
        return set(), ""
    return model_change.caused_by_change(s.previous.model_hash, _before(s.previous),
                                         s.contact, s.events, s.result.scored_at, changes)


def record_model(ctx: RunContext) -> None:
    """Remember the model (with its text) before any score names it."""
    job = ctx.job
    if job.model_text is None or job.model_hash is None:
        return
    job.store.save_model(StoredModel(job.client, job.model_hash, job.model.name,
                                     job.model_source, job.model_text), ctx.started)
    ctx.report.model = f"{job.model.name} ({job.model_hash})"
