"""One batch of contacts: read its state and engagement, score it, write the changed
scores to the CRM, then hand it to ``record``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from connector import stopping
from connector.models import Contact, Event
from connector.scoring import score
from connector.store.base import StoredContact
from connector.sync.engagement import fetch_events
from connector.sync.job import SyncJob
from connector.sync.record import Scored, record
from connector.sync.report import SyncReport


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


def process(job: SyncJob, report: SyncReport, contacts: Sequence[Contact], *,
             bookmark: datetime | None, full: bool, dry_run: bool, seen: set[str],
             from_state: Collection[str] = (), from_crm: bool = False) -> bool:
    """Score, write and record one batch; False when a stop came while its engagement was
    being read (then nothing of the batch is written or recorded). Contacts whose ids are
    in ``from_state`` come from state: no engagement is read for them; ``from_crm``: the
    contacts were just read from the CRM."""
    read = read_batch(job, report, contacts, bookmark=bookmark, full=full, dry_run=dry_run,
                 seen=seen, from_state=from_state)
    if from_crm:
        read.from_crm = {c.id for c in contacts}
    return not read.stopped and complete(job, report, read, dry_run=dry_run, seen=seen)


def read_batch(job: SyncJob, report: SyncReport, contacts: Sequence[Contact], *,
          bookmark: datetime | None, full: bool, dry_run: bool, seen: set[str],
          from_state: Collection[str] = ()) -> Read:
    """The state and the engagement of one batch: no write of any kind."""
    now = report.started_at
    contacts = _dedupe(contacts)
    previous = job.store.get_contacts(job.client, [c.id for c in contacts])
    # A contact is processed once per run. State says which were (scored at this run's
    # start), so memory stays flat however many contacts stream through; a dry run saves
    # nothing and remembers the ids instead.
    if dry_run:
        contacts = [c for c in contacts if c.id not in seen]
        seen.update(c.id for c in contacts)
    else:
        contacts = [c for c in contacts if (p := previous.get(c.id)) is None
                    or p.last_scored_at != now]
    if not contacts:
        return Read([], previous, {}, {}, {}, from_state)
    cached = job.store.get_events(job.client, [c.id for c in contacts])
    try:
        crm_read = [c for c in contacts if c.id not in from_state]
        fresh = (fetch_events(job, report, crm_read, previous, bookmark, full, cached)
                 if crm_read else {})
    except stopping.Stopped:
        return Read(contacts, previous, cached, {}, {}, from_state, stopped=True)
    return Read(contacts, previous, cached, fresh, job.crm.notes.take_skipped(), from_state)


def complete(job: SyncJob, report: SyncReport, read: Read, *, dry_run: bool,
              seen: set[str]) -> bool:
    """Score, write and record a batch that was read; False when a stop came in the retry
    wait of its write (then nothing of it is recorded: the writes repeat next run)."""
    if not read.contacts:
        return True
    now = report.started_at
    previous, cached, fresh, from_state = read.previous, read.cached, read.fresh, read.from_state
    scored: list[Scored] = []
    skipped = read.skipped
    for contact in read.contacts:
        prev = previous.get(contact.id)
        new_events = fresh.get(contact.id, [])
        events = _merge(cached.get(contact.id, []), new_events)
        try:
            result = score(contact, events, job.model, now)
        except Exception as exc:  # a bad record never stops the others
            skipped[contact.id] = f"could not score: {type(exc).__name__}: {exc}"
            continue
        in_crm = prev.score if contact.id in from_state and prev else contact.score_in_crm
        scored.append(Scored(contact, result, prev, in_crm, new_events, events,
                              from_crm=contact.id in read.from_crm))
    report.counts["scored"] += len(scored)

    to_write = {s.contact.id: s.result.total for s in scored if s.in_crm != s.result.total}
    report.counts["unchanged"] += len(scored) - len(to_write)
    failed: dict[str, str] = {}
    written_at = None
    if to_write:
        if dry_run:
            for cid, value in to_write.items():
                report.planned.append(f"write {job.score_property.name}={value} to contact {cid}")
        else:
            try:
                outcome = job.crm.write_scores(to_write)
            except stopping.Stopped:  # in a retry wait: the writes repeat (same values)
                return False
            written_at = job.clock.now()  # confirmed by now: its echo comes back before this
            failed = dict(outcome.failed)
            report.counts["write_calls"] += outcome.calls
            report.counts["written"] += len(outcome.written)
            report.counts["write_failed"] += len(failed)
            for cid, reason in failed.items():
                report.errors.append(f"write of contact {cid} failed: {reason}")

    if not dry_run:  # not re-tried in this run's rescoring pass (few: errors only)
        seen.update(failed)
        seen.update(skipped)
    record(job, report, scored, to_write, failed, skipped, dry_run=dry_run,
            written_at=written_at)
    return True



def _merge(cached: Iterable[Event], fresh: Iterable[Event]) -> list[Event]:
    by_id = {e.id: e for e in cached}
    for event in fresh:
        by_id[event.id] = event
    return list(by_id.values())


def _dedupe(contacts: Iterable[Contact]) -> list[Contact]:
    """One copy of each contact: the first, which is the pulled one where the batch also
    holds its stored copy (named by the activity stream, ``_engaged_unpulled``): the
    CRM's record is newer than state's."""
    by_id: dict[str, Contact] = {}
    for contact in contacts:
        by_id.setdefault(contact.id, contact)
    return list(by_id.values())


