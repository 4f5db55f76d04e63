"""One batch of contacts: read its state and engagement, score it, write the changed
scores to the CRM (through the run's effects), then hand it to ``record``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from connector import stopping
from connector.models import Contact, Event
from connector.scoring import score
from connector.store.base import StoredContact
from connector.sync.context import RunContext
from connector.sync.engagement import fetch_events
from connector.sync.record import Scored, Written, record


@dataclass
class Read:
    """One batch read from state and the CRM, ready to be scored, written and recorded."""

    contacts: list[Contact]
    previous: dict[str, StoredContact]
    cached: dict[str, list[Event]]
    fresh: dict[str, list[Event]]
    skipped: dict[str, str]
    from_state: Collection[str]
    stopped: bool = False  # a stop came while its engagement was read: drop the batch
    pulled: list[Contact] = field(default_factory=list)  # for progress and the checkpoint
    pull_done: bool = False
    from_crm: set[str] = field(default_factory=set)  # ids read from the CRM in this run


def process(ctx: RunContext, contacts: Sequence[Contact], *,
            from_state: Collection[str] = (), from_crm: bool = False,
            whole: bool = False) -> bool:
    """Score, write and record one batch; False when a stop came while its engagement was
    being read (then nothing of the batch is written or recorded). Contacts whose ids are
    in ``from_state`` come from state: no engagement is read for them; ``from_crm``: the
    contacts were just read from the CRM; ``whole``: all their engagement is read."""
    read = read_batch(ctx, contacts, from_state=from_state, whole=whole)
    if from_crm:
        read.from_crm = {c.id for c in contacts}
    return not read.stopped and complete(ctx, read)


def read_batch(ctx: RunContext, contacts: Sequence[Contact], *,
               from_state: Collection[str] = (), whole: bool = False) -> Read:
    """The state and the engagement of one batch: no write of any kind."""
    contacts = _dedupe(contacts)
    previous = ctx.store.get_contacts(ctx.client, [c.id for c in contacts])
    contacts = ctx.effects.unprocessed(ctx, contacts, previous)
    if not contacts:
        return Read([], previous, {}, {}, {}, from_state)
    cached = ctx.store.get_events(ctx.client, [c.id for c in contacts])
    try:
        crm_read = [c for c in contacts if c.id not in from_state]
        fresh = fetch_events(ctx, crm_read, previous, cached, whole) if crm_read else {}
    except stopping.Stopped:
        return Read(contacts, previous, cached, {}, {}, from_state, stopped=True)
    return Read(contacts, previous, cached, fresh, ctx.crm.notes.take_skipped(), from_state)


def complete(ctx: RunContext, read: Read) -> bool:
    """Score, write and record a batch that was read; False when a stop came in the retry
    wait of its write (then nothing of it is recorded: the writes repeat next run)."""
    if not read.contacts:
        return True
    scored = _score(ctx, read)
    ctx.report.counts["scored"] += len(scored)
    to_write = {s.contact.id: s.result.total for s in scored if s.in_crm != s.result.total}
    ctx.report.counts["unchanged"] += len(scored) - len(to_write)
    written = Written(to_write, {})
    if to_write:
        try:
            written.failed, written.at = ctx.effects.write_scores(ctx, to_write)
        except stopping.Stopped:  # in a retry wait: the writes repeat (same values)
            return False
    ctx.effects.not_rescored(ctx, [*written.failed, *read.skipped])
    record(ctx, scored, written, read.skipped)
    return True


def _score(ctx: RunContext, read: Read) -> list[Scored]:
    """The batch's contacts scored; one that cannot be scored is skipped (noted in
    ``read.skipped``), never stopping the others."""
    scored: list[Scored] = []
    for contact in read.contacts:
        prev = read.previous.get(contact.id)
        new_events = read.fresh.get(contact.id, [])
        events = _merge(read.cached.get(contact.id, []), new_events)
        try:
            result = score(contact, events, ctx.job.model, ctx.started)
        except Exception as exc:  # a bad record never stops the others
            read.skipped[contact.id] = f"could not score: {type(exc).__name__}: {exc}"
            continue
        in_crm = (prev.score if contact.id in read.from_state and prev
                  else contact.score_in_crm)
        scored.append(Scored(contact, result, prev, in_crm, new_events, events,
                             from_crm=contact.id in read.from_crm))
    return scored


def _merge(cached: Iterable[Event], fresh: Iterable[Event]) -> list[Event]:
    by_id = {e.id: e for e in cached}
    for event in fresh:
        by_id[event.id] = event
    return list(by_id.values())


def _dedupe(contacts: Iterable[Contact]) -> list[Contact]:
    """One copy of each contact: the first, which is the pulled one where the batch also
    holds its stored copy (named by the activity stream, ``work``): the CRM's record is
    newer than state's."""
    by_id: dict[str, Contact] = {}
    for contact in contacts:
        by_id.setdefault(contact.id, contact)
    return list(by_id.values())
