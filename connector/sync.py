"""One sync of one client: pull, score, write back, record, act.

The order is what makes it safe to crash anywhere:

1. pull contacts changed since the bookmark (plus contacts whose score changes by time
   alone now, plus earlier failed writes), in batches;
2. score each with the pure engine, compare with the CRM's value and the stored state;
3. write only changed scores to the CRM (at-least-once: a crash before step 4 repeats
   the write next run, which converges because the value is the same);
4. in ONE transaction: new contact state, transitions and the actions outbox (keyed by
   warm-up episode, so a repeat never enqueues a second invite), failed writes;
5. deliver the outbox (claimed and committed as "sending" before each send, so a crash
   mid-send leaves an "unknown" entry for a person instead of a blind resend);
6. move the bookmark to the sync's start time only after everything above committed.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

from connector import logs
from connector.actions.base import ActionContext, plan_actions
from connector.actions.deliver import deliver_pending, settle_hint
from connector.crm.base import CRM, ScoreProperty
from connector.errors import ConnectorError
from connector.models import Contact, ContactState, Event, ScoreResult, Transition
from connector.report import SyncReport
from connector.scoring import RulesModel, score, transitions
from connector.store.base import Store, StoredContact

log = logging.getLogger("connector.sync")

BATCH_SIZE = 500
CONTACTS_STREAM = "contacts"
Clock = Callable[[], datetime]
Progress = Callable[[str, int], None]


@dataclass
class SyncJob:
    """Everything one client's sync needs, already validated and built."""

    client: str
    crm: CRM
    store: Store
    model: RulesModel
    score_property: ScoreProperty
    actions: ActionContext
    clock: Clock
    lease_seconds: int = 900
    batch_size: int = BATCH_SIZE
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Scored:
    contact: Contact
    result: ScoreResult
    previous: StoredContact | None
    in_crm: int | None
    new_events: list[Event]
    events: list[Event]


def holder_name() -> str:
    """Who holds a lease: host, process and a random suffix (two runs never collide)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_sync(job: SyncJob, *, full: bool = False, dry_run: bool = False,
             progress: Progress | None = None) -> SyncReport:
    """Run one sync of ``job.client``. Raises LeaseHeld when another run holds the client."""
    started = job.clock()
    kind = "resync" if full else "sync"
    report = SyncReport(client=job.client, kind=kind + (" (dry run)" if dry_run else ""),
                        started_at=started)
    holder = holder_name()
    with job.store.lease(job.client, holder, job.lease_seconds, started):
        if not dry_run:
            report.run_id = job.store.start_run(job.client, kind, started)
        run_token = logs.run_var.set(report.run_id or "dry-run")
        client_token = logs.client_var.set(job.client)
        log.info("%s started", report.kind)
        try:
            _run(job, report, full=full, dry_run=dry_run, progress=progress or _no_progress,
                 holder=holder)
            report.status = "partial" if report.counts["write_failed"] or report.errors else "ok"
        except ConnectorError as exc:
            report.status = "failed"
            report.errors.append(str(exc))
            raise
        except Exception as exc:  # record the failure, then let it surface
            report.status = "failed"
            report.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            report.finished_at = job.clock()
            report.degraded = list(dict.fromkeys(job.crm.notes.degraded))
            report.retried = _retried(job.crm)
            if report.run_id is not None:
                _finish_run(job, report)
            log.info("%s", report.summary())
            logs.run_var.reset(run_token)
            logs.client_var.reset(client_token)
    return report


def _run(job: SyncJob, report: SyncReport, *, full: bool, dry_run: bool, progress: Progress,
         holder: str) -> None:
    started = report.started_at
    if not dry_run:
        for entry in job.store.recover_interrupted(job.client, started):
            report.unknown_actions.append(
                f"{entry.kind} for contact {entry.contact_id} ({entry.dedupe_key}): outcome "
                "unknown after an interrupted run; " + settle_hint(job.client, entry)
            )
        job.crm.ensure_score_property(job.score_property)
    else:
        report.planned.append(f"ensure score property {job.score_property.name!r} exists")

    bookmark = None if full else job.store.get_bookmark(job.client, CONTACTS_STREAM)
    seen: set[str] = set()
    checkpoint: datetime | None = None
    ordered = bool(getattr(job.crm, "incremental_ordered", False)) and bookmark is not None

    for batch in _chunks(job.crm.iter_contacts(bookmark, started), job.batch_size):
        report.counts["pulled"] += len(batch)
        _process(job, report, batch, bookmark=bookmark, full=full, dry_run=dry_run, seen=seen)
        progress("pull", len(batch))
        if ordered:
            last = max((c.updated_at for c in batch if c.updated_at), default=None)
            checkpoint = min(last, started) if last else checkpoint
        if not dry_run:
            job.store.renew_lease(job.client, holder, job.lease_seconds, job.clock())
        if job.stop.is_set():
            report.interrupted = True
            if checkpoint is not None and not dry_run:
                job.store.set_bookmark(job.client, CONTACTS_STREAM, checkpoint)
            return

    _rescore_stored(job, report, dry_run=dry_run, seen=seen, progress=progress)
    _deliver(job, report, dry_run=dry_run)
    if not dry_run and not job.stop.is_set():
        job.store.set_bookmark(job.client, CONTACTS_STREAM, started)


def _rescore_stored(job: SyncJob, report: SyncReport, *, dry_run: bool, seen: set[str],
                    progress: Progress) -> None:
    """Contacts not pulled this run whose score changes by time now, and failed writes."""
    now = report.started_at
    due = [cid for cid in job.store.due_contacts(job.client, now) if cid not in seen]
    retry = [cid for cid in job.store.failed_writes(job.client) if cid not in seen]
    ids = list(dict.fromkeys(due + retry))
    report.counts["due"] += len(due)
    report.counts["write_retried"] += len(retry)
    for start in range(0, len(ids), job.batch_size):
        chunk = ids[start:start + job.batch_size]
        stored = job.store.get_contacts(job.client, chunk)
        contacts = [s.as_contact() for s in stored.values()]
        _process(job, report, contacts, bookmark=None, full=False, dry_run=dry_run, seen=seen,
                 from_state=True)
        progress("rescore", len(chunk))
        if job.stop.is_set():
            report.interrupted = True
            return


def _process(job: SyncJob, report: SyncReport, contacts: Sequence[Contact], *,
             bookmark: datetime | None, full: bool, dry_run: bool, seen: set[str],
             from_state: bool = False) -> None:
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
        return
    ids = [c.id for c in contacts]
    cached = job.store.get_events(job.client, ids)
    fresh = {} if from_state else _fetch_events(job, report, contacts, previous, bookmark, full)

    scored: list[_Scored] = []
    skipped: dict[str, str] = dict(job.crm.notes.skipped)
    job.crm.notes.skipped.clear()
    for contact in contacts:
        prev = previous.get(contact.id)
        new_events = fresh.get(contact.id, [])
        events = _merge(cached.get(contact.id, []), new_events)
        try:
            result = score(contact, events, job.model, now)
        except Exception as exc:  # a bad record never stops the others
            skipped[contact.id] = f"could not score: {type(exc).__name__}: {exc}"
            continue
        in_crm = prev.score if from_state and prev else contact.score_in_crm
        scored.append(_Scored(contact, result, prev, in_crm, new_events, events))
    report.counts["scored"] += len(scored)

    to_write = {s.contact.id: s.result.total for s in scored if s.in_crm != s.result.total}
    report.counts["unchanged"] += len(scored) - len(to_write)
    failed: dict[str, str] = {}
    if to_write:
        if dry_run:
            for cid, value in to_write.items():
                report.planned.append(f"write {job.score_property.name}={value} to contact {cid}")
        else:
            outcome = job.crm.write_scores(to_write)
            failed = dict(outcome.failed)
            report.counts["write_calls"] += outcome.calls
            report.counts["written"] += len(outcome.written)
            report.counts["write_failed"] += len(failed)
            for cid, reason in failed.items():
                report.errors.append(f"write of contact {cid} failed: {reason}")

    if not dry_run:  # not re-tried in this run's rescoring pass (few: errors only)
        seen.update(failed)
        seen.update(skipped)
    _record(job, report, scored, to_write, failed, skipped, dry_run=dry_run)


def _record(job: SyncJob, report: SyncReport, scored: list[_Scored], to_write: dict[str, int],
            failed: dict[str, str], skipped: dict[str, str], *, dry_run: bool) -> None:
    """Persist state, transitions and outbox entries of one batch in one transaction."""
    rows: list[StoredContact] = []
    all_transitions: list[Transition] = []
    outbox: list[Any] = []
    events: list[Event] = []
    for s in scored:
        state, changes = _next_state(job, s, written=s.contact.id in to_write
                                     and s.contact.id not in failed)
        rows.append(state)
        all_transitions.extend(changes)
        events.extend(s.new_events)
        for change in changes:
            report.counts[change.kind.value] += 1
            outbox.extend(plan_actions(change, s.result, s.contact, s.events, job.actions,
                                       s.previous))
    report.counts["skipped"] += len(skipped)
    if dry_run:
        for entry in outbox:
            report.planned.append(f"{entry.kind} for contact {entry.contact_id} "
                                  f"({entry.dedupe_key})")
        return
    with job.store.transaction() as tx:
        tx.save_contacts(rows)
        tx.add_events(job.client, events)
        if all_transitions:
            tx.add_transitions(job.client, report.run_id, all_transitions)
        for entry in outbox:
            if tx.enqueue(entry):
                report.counts["actions_enqueued"] += 1
        if failed:
            tx.add_failed_writes(job.client, {cid: (to_write[cid], reason)
                                              for cid, reason in failed.items()})
        written_ok = [cid for cid in to_write if cid not in failed]
        unchanged = [s.contact.id for s in scored if s.contact.id not in to_write]
        if written_ok or unchanged:
            tx.clear_failed_writes(job.client, written_ok + unchanged)
        for cid, reason in skipped.items():
            tx.record_skipped(job.client, cid, reason, report.run_id)


def _next_state(job: SyncJob, s: _Scored, *, written: bool) -> tuple[StoredContact,
                                                                       list[Transition]]:
    prev = s.previous
    before = (ContactState(score=prev.score if prev.score is not None else 0, tier=prev.tier,
                           warm=prev.warm, at_floor=prev.at_floor,
                           warm_episode=prev.warm_episode)
              if prev is not None and prev.tier else None)
    changes, state = transitions(before, s.result, job.model)
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
    )
    return row, changes


def _fetch_events(job: SyncJob, report: SyncReport, contacts: Sequence[Contact],
                  previous: dict[str, StoredContact], bookmark: datetime | None,
                  full: bool) -> dict[str, list[Event]]:
    """Fetch engagement only where it can have moved: new contacts and moved counters."""
    new, moved = [], []
    for contact in contacts:
        prev = previous.get(contact.id)
        if full or prev is None:
            new.append(contact)
        elif (contact.activity_signature is None
              or contact.activity_signature != prev.activity_signature):
            moved.append(contact)
    fetched: dict[str, list[Event]] = {}
    if new:
        fetched.update(job.crm.fetch_events(new, None))
    if moved:
        since = _since_for(moved, previous, bookmark)
        fetched.update(job.crm.fetch_events(moved, since))
    report.counts["events_fetched_for"] += len(new) + len(moved)
    report.counts["events"] += sum(len(v) for v in fetched.values())
    return fetched


def _since_for(contacts: Sequence[Contact], previous: dict[str, StoredContact],
               bookmark: datetime | None) -> datetime | None:
    """Events after the oldest of these contacts' last scoring, with a day of overlap for
    CRM clocks and late-arriving events (duplicates are merged by event id)."""
    times = [previous[c.id].last_scored_at for c in contacts if previous[c.id].last_scored_at]
    if bookmark is not None:
        times.append(bookmark)
    if not times:
        return None
    return min(times) - timedelta(days=1)


def _deliver(job: SyncJob, report: SyncReport, *, dry_run: bool) -> None:
    if dry_run:
        return
    delivery = deliver_pending(job.store, job.client, job.actions, job.clock(), stop=job.stop)
    report.counts["actions_sent"] += delivery.sent
    report.counts["actions_retrying"] += delivery.retrying
    report.counts["actions_failed"] += delivery.failed
    report.counts["actions_unknown"] += delivery.uncertain
    report.errors.extend(delivery.errors)
    if delivery.stopped:  # the message in flight was finished; the rest stay pending
        report.interrupted = True


def _finish_run(job: SyncJob, report: SyncReport) -> None:
    try:
        job.store.finish_run(report.run_id, report.status, report.finished_at,
                             dict(report.counts), report.errors, report.as_dict())
    except Exception:  # the run's own outcome matters more than its bookkeeping
        log.exception("could not record the end of run %s", report.run_id)


def _retried(crm: CRM) -> dict[str, int]:
    stats = getattr(crm, "http_stats", None)
    retried = getattr(stats, "retried", None) if stats is not None else None
    return dict(retried) if retried else {}


def _merge(cached: Iterable[Event], fresh: Iterable[Event]) -> list[Event]:
    by_id = {e.id: e for e in cached}
    for event in fresh:
        by_id[event.id] = event
    return list(by_id.values())


def _dedupe(contacts: Iterable[Contact]) -> list[Contact]:
    by_id: dict[str, Contact] = {}
    for contact in contacts:
        by_id[contact.id] = contact
    return list(by_id.values())


def _chunks(items: Iterable[Contact], size: int) -> Iterator[list[Contact]]:
    batch: list[Contact] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _no_progress(stage: str, n: int) -> None:
    return None


__all__ = ["SyncJob", "holder_name", "run_sync"]
