"""One sync of one client: pull, score, write back, record, act.

The order is what makes it safe to crash anywhere:

1. pull contacts changed since the bookmark (plus contacts whose score changes by time
   alone now, earlier failed writes, and, after a model change, every stored contact
   another model scored), in batches;
2. score each with the pure engine, compare with the CRM's value and the stored state;
3. write only changed scores to the CRM (at-least-once: a crash before step 4 repeats
   the write next run, which converges because the value is the same);
4. in ONE transaction: new contact state, transitions and the actions outbox (keyed by
   warm-up episode, so a repeat never enqueues a second invite), failed writes; the
   actions a model change alone causes are enqueued "held" (``scoring.model_change``); on
   the client's first sync, ``first_sync`` says what happens to the leads already warm and
   the contacts already at the floor (baseline: recorded, not acted on; hold; act);
5. hold mass actions (``actions.guard``), queue invites above a salesperson's daily cap
   (``actions.capacity``), then deliver the outbox (claimed and committed as "sending"
   before each send, so a crash mid-send leaves an "unknown" entry for a person instead
   of a blind resend);
6. move the bookmark to the sync's start time only after everything above committed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any, TypeVar

from connector import lease, logs, own_writes, stopping
from connector.actions.base import owner_warning, plan_actions
from connector.actions.capacity import apply_capacity
from connector.actions.context import ActionContext
from connector.actions.deliver import deliver_pending, settle_hint
from connector.actions.guard import apply_guard, invites_over, unsubscribes_over
from connector.actions.left import LEFT_STATES, left_lines
from connector.actions.marker import note_pulled, skips_warm_up
from connector.crm.base import CRM, ContactsById, ScoreProperty
from connector.crm.detected import settle
from connector.errors import ConnectorError
from connector.lease import holder_name
from connector.models import (
    Contact,
    ContactState,
    Event,
    ScoreResult,
    Transition,
    TransitionKind,
)
from connector.readahead import read_ahead
from connector.report import SyncReport
from connector.scoring import RulesModel, score, transitions
from connector.scoring.model_change import ACTING, ModelChange, model_hash
from connector.store.base import Store, StoredContact, StoredModel

log = logging.getLogger("connector.sync")

BATCH_SIZE = 500
# the hold reason of the actions ``first_sync: hold`` holds (model-change holds are counted
# apart from them)
FIRST_SYNC_HOLD = "first sync: "
_ALREADY = {TransitionKind.BECAME_WARM: "already warm",
            TransitionKind.HIT_FLOOR: "already at the floor"}
CONTACTS_STREAM = "contacts"
Clock = Callable[[], datetime]
Progress = Callable[[str, int], None]
T = TypeVar("T")


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
    lease_seconds: int = 60  # renewed every third of it while the run goes on
    batch_size: int = BATCH_SIZE
    stop: threading.Event = field(default_factory=threading.Event)
    # the model's identity (its YAML text and hash): kept in state with every score, so a
    # model change is noticed and the transitions it alone causes are held (issue 16)
    model_text: str | None = None
    model_source: str | None = None
    model_hash: str | None = field(init=False, default=None)
    # ``webhooks.enabled`` in the client file: the scheduled poll syncs the contacts the
    # webhooks marked dirty instead of pulling what changed since the bookmark (README,
    # "Webhooks", for the trade-off)
    trust_dirty: bool = False

    def __post_init__(self) -> None:
        if self.model_text is not None:
            self.model_hash = model_hash(self.model_text)


@dataclass
class _Scored:
    contact: Contact
    result: ScoreResult
    previous: StoredContact | None
    in_crm: int | None
    new_events: list[Event]
    events: list[Event]
    from_crm: bool = False  # read from the CRM in this run (its warm-up marker is current)


def run_sync(job: SyncJob, *, full: bool = False, dry_run: bool = False,
             progress: Progress | None = None,
             contact_ids: Sequence[str] | None = None) -> SyncReport:
    """Run one sync of ``job.client``. Raises LeaseHeld when a live run holds the client;
    the lease of a run that is gone is taken over at once and that run marked interrupted.
    ``job.stop`` ends the run early: what is complete is saved, the report says what is
    left (its status is "interrupted").

    ``contact_ids``: a targeted sync of just these contacts (a webhook's dirty contacts):
    read by id, their engagement fetched, scored, written and acted on; the bookmark stays.
    With ``job.trust_dirty`` a scheduled (not full) sync is the targeted sync of the
    client's dirty contacts plus the rescoring of due contacts from state."""
    started = job.clock()
    kind = "resync" if full else "sync"
    targeted = Targeted(list(contact_ids), poll=False) if contact_ids is not None else None
    if targeted is None and job.trust_dirty and not full:
        targeted = Targeted(list(job.store.dirty_contacts(job.client)), poll=True)
    if targeted is not None:
        kind = "dirty-set sync" if targeted.poll else "targeted sync"
    report = SyncReport(client=job.client, kind=kind + (" (dry run)" if dry_run else ""),
                        started_at=started)
    holder = holder_name()
    report.took_over = lease.acquire(job.store, job.client, holder, job.lease_seconds, started)
    try:
        job.store.interrupt_runs(job.client, started)
        with lease.Heartbeat(job.store, job.client, holder, job.lease_seconds, job.clock,
                             on_lost=job.stop.set) as heartbeat:
            _sync_holding_lease(job, report, kind, heartbeat, full=full, dry_run=dry_run,
                                progress=progress or _no_progress, targeted=targeted)
    finally:
        lease.release(job.store, job.client, holder)
    return report


def _sync_holding_lease(job: SyncJob, report: SyncReport, kind: str,
                        heartbeat: lease.Heartbeat, *, full: bool, dry_run: bool,
                        progress: Progress, targeted: Targeted | None = None) -> None:
    started = report.started_at
    if not dry_run:
        report.run_id = job.store.start_run(job.client, kind, started)
    run_token = logs.run_var.set(report.run_id or "dry-run")
    client_token = logs.client_var.set(job.client)
    log.info("%s started", report.kind)
    try:
        try:
            with stopping.stoppable(job.stop):
                _run(job, report, full=full, dry_run=dry_run, progress=progress,
                     targeted=targeted)
        except stopping.Stopped:  # in a retry wait before the pull began
            _stopped(job, report, "start", None, dry_run=dry_run)
        if heartbeat.lost:
            report.errors.append("another run took the client over (this run's lease "
                                 "had expired); this run stopped")
        if report.interrupted:
            report.status = "interrupted"
            report.actions_pending = 0 if dry_run else _pending_actions(job)
        else:
            report.status = ("partial" if report.counts["write_failed"] or report.all_errors
                             else "ok")
    except KeyboardInterrupt:  # a second Ctrl-C: quit at once, but say so in the runs
        report.status = "interrupted"
        report.interrupted = True
        raise
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


def _run(job: SyncJob, report: SyncReport, *, full: bool, dry_run: bool,
         progress: Progress, targeted: Targeted | None = None) -> None:
    started = report.started_at
    # what the account can do: detected on the first sync and every full resync (kept in
    # state, changes reported), else as kept (connector/crm/detected.py)
    report.capabilities = settle(job.crm, job.store, job.client, detect=full,
                                 keep=not dry_run)
    if not dry_run:
        for entry in job.store.recover_interrupted(job.client, started):
            report.unknown_actions.append(
                f"{entry.kind} for contact {entry.contact_id} ({entry.dedupe_key}): outcome "
                "unknown after an interrupted run; " + settle_hint(job.client, entry)
            )
        job.crm.ensure_score_property(job.score_property)
        _record_model(job, report)
    else:
        report.planned.append(f"ensure score property {job.score_property.name!r} exists")
    if targeted is not None:
        _run_targeted(job, report, targeted, dry_run=dry_run, progress=progress)
        return

    stored_bookmark = job.store.get_bookmark(job.client, CONTACTS_STREAM)
    if stored_bookmark is None:  # no pull of this client ever finished: its first sync
        report.first_sync = job.actions.client.first_sync
    bookmark = None if full else stored_bookmark
    report.bookmark = bookmark
    seen: set[str] = set()
    checkpoint: datetime | None = None
    ordered = job.crm.incremental_ordered and bookmark is not None

    # One stream of work: the pulled contacts, then the stored ones the activity stream
    # names, then those due from state (time, failed writes, a new model). Batches cross
    # the seams, so the last pulled batch and the due contacts share one write call.
    # A stop is honoured between contacts of the pull and between engagement requests
    # (``stopping``): a batch cut short is dropped whole, so nothing half-processed is
    # recorded and the bookmark never passes a contact that was not processed.
    pulled = _until_stopped(job.crm.iter_contacts(bookmark, started), job.stop)
    work = _Work(job, report, pulled, bookmark=bookmark, seen=seen)
    chunks = _chunks(work, job.batch_size)

    def read_next() -> _Read | None:
        """The next batch, read from the CRM and state (runs in the read-ahead thread)."""
        batch = next(chunks, None)
        if batch is None or job.stop.is_set():
            return None
        pull_done = work.pull_done  # all pulled contacts are in this batch or before
        work.handed()
        crm_ids = {c.id for c, kind in batch if kind != "state"}
        contacts = [c for c, kind in batch if kind != "state" or c.id not in crm_ids]
        from_state = {c.id for c, kind in batch if kind == "state"} - crm_ids
        fresh = [c for c, kind in batch if kind == "pull"]
        report.counts["pulled"] += len(fresh)
        read = _read(job, report, contacts, bookmark=bookmark, full=full, dry_run=dry_run,
                     seen=seen, from_state=from_state)
        read.pulled, read.pull_done = fresh, pull_done
        read.from_crm = {c.id for c in fresh}
        return read

    # batch k+1 is read (pull page, state, engagement) while batch k is scored, written
    # and recorded: the rate limit does not idle between batches (``readahead``)
    done: set[str] = set()
    try:
        for read in read_ahead(read_next, job.stop):
            if job.stop.is_set() or read.stopped:
                break
            # read while the batch before was being recorded: a contact both hold was
            # processed there (the state check of ``_read`` could not see it yet)
            read.contacts = [c for c in read.contacts if c.id not in done]
            if not _complete(job, report, read, dry_run=dry_run, seen=seen):
                break
            done = {c.id for c in read.contacts}
            work.finished()
            if read.pulled:
                progress("pull", len(read.pulled))
            if read.from_state:
                progress("rescore", len(read.from_state))
            if ordered and read.pulled:
                last = max((c.updated_at for c in read.pulled if c.updated_at), default=None)
                checkpoint = min(last, started) if last else checkpoint
            if read.pull_done and not report.bookmark_saved:
                _pulled_all(job, report, dry_run=dry_run)
    except stopping.Stopped:
        pass
    if job.stop.is_set():
        if report.bookmark_saved:
            _stopped(job, report, "rescoring", None, dry_run=dry_run)
        else:
            _stopped(job, report, "pull", checkpoint, dry_run=dry_run)
        return
    if not report.bookmark_saved:
        _pulled_all(job, report, dry_run=dry_run)
    with stopping.unstoppable():  # delivery stops between messages, never inside one
        _deliver(job, report, dry_run=dry_run)
    if job.stop.is_set():
        _stopped(job, report, "delivery", None, dry_run=dry_run)


@dataclass
class Targeted:
    """The contacts of a targeted sync; ``poll``: the scheduled poll trusting the dirty set
    (it also rescores the contacts due by time from state)."""

    ids: list[str]
    poll: bool = False


def _run_targeted(job: SyncJob, report: SyncReport, targeted: Targeted, *, dry_run: bool,
                  progress: Progress) -> None:
    """Read just these contacts by id, fetch all their engagement, score, write, record,
    act; clear their dirty marks (those not newer than this run's start). The bookmark
    stays where the last pull left it."""
    if not isinstance(job.crm, ContactsById):
        raise ConnectorError(f"the {job.crm.kind} adapter cannot read contacts by id, so a "
                             "targeted sync is not possible; set webhooks.enabled: false")
    seen: set[str] = set()
    ids = list(dict.fromkeys(targeted.ids))
    report.counts["targeted"] += len(ids)
    try:
        for start in range(0, len(ids), job.batch_size):
            if job.stop.is_set():
                break
            batch = job.crm.get_contacts_by_id(ids[start:start + job.batch_size])
            report.counts["pulled"] += len(batch)
            # engagement is fetched whole (``full``): a webhook says something happened
            # even where the record's counters or update time did not move
            if batch and not _process(job, report, batch, bookmark=None, full=True,
                                      dry_run=dry_run, seen=seen, from_crm=True):
                break
            progress("pull", len(batch))
    except stopping.Stopped:
        pass
    if job.stop.is_set():
        _stopped(job, report, "pull", None, dry_run=dry_run)
        return
    if not dry_run and ids:
        job.store.clear_dirty(job.client, ids, report.started_at)
    if targeted.poll and not _rescore_stored(job, report, dry_run=dry_run, seen=seen,
                                             progress=progress):
        _stopped(job, report, "rescoring", None, dry_run=dry_run)
        return
    with stopping.unstoppable():
        _deliver(job, report, dry_run=dry_run)
    if job.stop.is_set():
        _stopped(job, report, "delivery", None, dry_run=dry_run)


def _pulled_all(job: SyncJob, report: SyncReport, *, dry_run: bool) -> None:
    """Every changed contact is recorded: the pull is done. Due contacts, failed writes and
    pending actions live in state, so what follows never needs the old bookmark."""
    if not dry_run:
        job.store.set_bookmark(job.client, CONTACTS_STREAM, report.started_at)
        report.bookmark, report.bookmark_saved = report.started_at, True


class _Work:
    """The contacts of one sync in order, each tagged with where it comes from: "pull"
    (changed in the CRM), "engaged" (stored, named by the CRM's activity stream) or
    "state" (due from state: rescored without any CRM read). ``pull_done`` turns true
    once every pulled and engaged contact has been handed out."""

    def __init__(self, job: SyncJob, report: SyncReport, pulled: Iterable[Contact], *,
                 bookmark: datetime | None, seen: set[str]) -> None:
        self.job, self.report, self.pulled = job, report, pulled
        self.bookmark, self.seen = bookmark, seen
        self.pull_done = False
        # batches handed to the finishing loop and batches it finished: what is due from
        # state is asked only once all pulled contacts are recorded (read ahead or not)
        self._handed = self._finished = 0
        self._changed = threading.Condition()

    def handed(self) -> None:
        with self._changed:
            self._handed += 1

    def finished(self) -> None:
        with self._changed:
            self._finished += 1
            self._changed.notify_all()

    def _wait_recorded(self) -> None:
        """Until every batch handed out is recorded; ``Stopped`` on a stop meanwhile."""
        with self._changed:
            while self._finished < self._handed:
                stopping.check()
                self._changed.wait(0.1)

    def __iter__(self) -> Iterator[tuple[Contact, str]]:
        job = self.job
        for contact in self.pulled:
            yield contact, "pull"
        if job.stop.is_set():
            return
        for contact in _engaged_unpulled(job, bookmark=self.bookmark):
            yield contact, "engaged"
        self.pull_done = True
        if job.stop.is_set():
            return
        self._wait_recorded()
        for chunk in _stored_to_rescore(job, self.report, self.seen):
            if job.stop.is_set():
                return
            stored = job.store.get_contacts(job.client, chunk)
            for row in stored.values():
                yield row.as_contact(), "state"


def _engaged_unpulled(job: SyncJob, *, bookmark: datetime | None) -> Iterator[Contact]:
    """Stored contacts the pull did not yield but the CRM's activity stream names (a site
    visit leaves ActiveCampaign's ``udate`` alone): from state, whose record has not
    moved, with their engagement fetched where the stream shows something state lacks."""
    engaged = job.crm.engaged
    if not engaged or bookmark is None:
        return
    ids = sorted(engaged)
    for start in range(0, len(ids), job.batch_size):
        if job.stop.is_set():
            return
        stored = job.store.get_contacts(job.client, ids[start:start + job.batch_size])
        for row in stored.values():
            yield row.as_contact()


def _stopped(job: SyncJob, report: SyncReport, stage: str, checkpoint: datetime | None, *,
             dry_run: bool) -> None:
    """A stop was asked for during ``stage``: save the pull's checkpoint (the newest
    modification time of the fully processed batches) and note where the run stopped."""
    report.interrupted = True
    report.stopped_during = stage
    if checkpoint is not None and not dry_run:
        job.store.set_bookmark(job.client, CONTACTS_STREAM, checkpoint)
        report.bookmark, report.bookmark_saved = checkpoint, True


def _until_stopped(contacts: Iterable[Contact], stop: threading.Event) -> Iterator[Contact]:
    """The contacts until a stop is asked for (no further page is then fetched)."""
    for contact in contacts:
        yield contact
        if stop.is_set():
            return


def _pending_actions(job: SyncJob) -> int:
    try:
        return len(job.store.outbox(job.client, ["pending"]))
    except ConnectorError:
        return 0


def _stored_to_rescore(job: SyncJob, report: SyncReport, seen: set[str],
                       ) -> Iterator[list[str]]:
    """Contacts whose score changes by time now, failed writes and, after a model change,
    every contact another model scored (from state: no engagement call; what the new
    model alone changes is held for a person, see ``_held``), in batches. The model
    change's are read from state a page at a time as they are rescored, so memory stays
    flat however many contacts it concerns."""
    now = report.started_at
    due = [cid for cid in job.store.due_contacts(job.client, now) if cid not in seen]
    retry = [cid for cid in job.store.failed_writes(job.client) if cid not in seen]
    report.counts["due"] += len(due)
    report.counts["write_retried"] += len(retry)
    first = list(dict.fromkeys(due + retry))
    for start in range(0, len(first), job.batch_size):
        yield first[start:start + job.batch_size]
    if not job.model_hash:
        return
    taken = set(first)
    for page in job.store.iter_contacts_with_other_model(job.client, job.model_hash,
                                                         job.batch_size):
        # (a dry run saves nothing: what it rescored above is in ``seen``, and counted)
        report.counts["model_rescored"] += sum(1 for cid in page
                                               if cid not in seen or cid in taken)
        ids = [cid for cid in page if cid not in seen and cid not in taken]
        if ids:
            yield ids


def _rescore_stored(job: SyncJob, report: SyncReport, *, dry_run: bool, seen: set[str],
                    progress: Progress) -> bool:
    """The stored contacts to rescore (``_stored_to_rescore``), from state. False when a
    stop cut it short (the rest stay due in state for the next run)."""
    for chunk in _stored_to_rescore(job, report, seen):
        if job.stop.is_set():
            return False
        stored = job.store.get_contacts(job.client, chunk)
        contacts = [s.as_contact() for s in stored.values()]
        _process(job, report, contacts, bookmark=None, full=False, dry_run=dry_run, seen=seen,
                 from_state=set(chunk))
        progress("rescore", len(chunk))
    return True


@dataclass
class _Read:
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


def _process(job: SyncJob, report: SyncReport, contacts: Sequence[Contact], *,
             bookmark: datetime | None, full: bool, dry_run: bool, seen: set[str],
             from_state: Collection[str] = (), from_crm: bool = False) -> bool:
    """Score, write and record one batch; False when a stop came while its engagement was
    being read (then nothing of the batch is written or recorded). Contacts whose ids are
    in ``from_state`` come from state: no engagement is read for them; ``from_crm``: the
    contacts were just read from the CRM."""
    read = _read(job, report, contacts, bookmark=bookmark, full=full, dry_run=dry_run,
                 seen=seen, from_state=from_state)
    if from_crm:
        read.from_crm = {c.id for c in contacts}
    return not read.stopped and _complete(job, report, read, dry_run=dry_run, seen=seen)


def _read(job: SyncJob, report: SyncReport, contacts: Sequence[Contact], *,
          bookmark: datetime | None, full: bool, dry_run: bool, seen: set[str],
          from_state: Collection[str] = ()) -> _Read:
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
        return _Read([], previous, {}, {}, {}, from_state)
    cached = job.store.get_events(job.client, [c.id for c in contacts])
    try:
        crm_read = [c for c in contacts if c.id not in from_state]
        fresh = (_fetch_events(job, report, crm_read, previous, bookmark, full, cached)
                 if crm_read else {})
    except stopping.Stopped:
        return _Read(contacts, previous, cached, {}, {}, from_state, stopped=True)
    return _Read(contacts, previous, cached, fresh, job.crm.notes.take_skipped(), from_state)


def _complete(job: SyncJob, report: SyncReport, read: _Read, *, dry_run: bool,
              seen: set[str]) -> bool:
    """Score, write and record a batch that was read; False when a stop came in the retry
    wait of its write (then nothing of it is recorded: the writes repeat next run)."""
    if not read.contacts:
        return True
    now = report.started_at
    previous, cached, fresh, from_state = read.previous, read.cached, read.fresh, read.from_state
    scored: list[_Scored] = []
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
        scored.append(_Scored(contact, result, prev, in_crm, new_events, events,
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
            written_at = job.clock()  # confirmed by now: its echo comes back before this
            failed = dict(outcome.failed)
            report.counts["write_calls"] += outcome.calls
            report.counts["written"] += len(outcome.written)
            report.counts["write_failed"] += len(failed)
            for cid, reason in failed.items():
                report.errors.append(f"write of contact {cid} failed: {reason}")

    if not dry_run:  # not re-tried in this run's rescoring pass (few: errors only)
        seen.update(failed)
        seen.update(skipped)
    _record(job, report, scored, to_write, failed, skipped, dry_run=dry_run,
            written_at=written_at)
    return True


def _record(job: SyncJob, report: SyncReport, scored: list[_Scored], to_write: dict[str, int],
            failed: dict[str, str], skipped: dict[str, str], *, dry_run: bool,
            written_at: datetime | None = None) -> None:
    """Persist state, transitions and outbox entries of one batch in one transaction."""
    rows: list[StoredContact] = []
    all_transitions: list[Transition] = []
    outbox: list[Any] = []
    events: list[Event] = []
    model_change = ModelChange(job.store, job.client, job.model_hash)
    for s in scored:
        state, changes = _next_state(job, s, written=s.contact.id in to_write
                                     and s.contact.id not in failed, written_at=written_at)
        # on the client's first sync, a contact the state never saw is already warm or at
        # the floor before the connector was there: ``first_sync`` says what happens
        first = report.first_sync if s.previous is None else None
        _count_first_sync(report, s, changes, first)
        if first == "baseline":
            state, changes = _baseline(state, changes)
        rows.append(state)
        all_transitions.extend(changes)
        events.extend(s.new_events)
        held, label = _held(job, model_change, s, changes)
        for change in changes:
            report.counts[change.kind.value] += 1
            planned = plan_actions(change, s.result, s.contact, s.events, job.actions,
                                   s.previous)
            if s.from_crm:  # delivered in this run without reading the marker again
                note_pulled(planned, s.contact, report.run_id)
            report.counts["already_invited"] += skips_warm_up(change, s.contact, s.previous)
            warnings = {w for e in planned if (w := owner_warning(e.payload))}
            report.counts["owner_fallback"] += bool(warnings)
            for note in sorted(warnings):
                if report.warn(note):
                    log.warning("%s", note)
            if change.kind in held:
                planned = [replace(e, status="held", hold_reason=(
                    f"model change: {label} -> {job.model.name} ({job.model_hash}) alone "
                    f"causes this {change.kind.value}")) for e in planned]
            elif first == "hold" and change.kind in ACTING:
                planned = [replace(e, status="held", hold_reason=(
                    f"{FIRST_SYNC_HOLD}{_ALREADY[change.kind]} when the client was "
                    "connected (first_sync: hold)")) for e in planned]
                report.counts["actions_held_first_sync"] += len(planned)
            outbox.extend(planned)
    report.counts["skipped"] += len(skipped)
    if dry_run:
        for entry in outbox:
            why = f", held: {entry.hold_reason}" if entry.status == "held" else ""
            if entry.status != "held" and entry.kind in ("invite", "unsubscribe"):
                report.counts[f"planned_{entry.kind}s"] += 1
            report.planned.append(f"{entry.kind} for contact {entry.contact_id} "
                                  f"({entry.dedupe_key}{why})")
        return
    with job.store.transaction() as tx:
        tx.save_contacts(rows)
        tx.add_events(job.client, events)
        if all_transitions:
            tx.add_transitions(job.client, report.run_id, all_transitions)
        for entry in outbox:
            if tx.enqueue(entry):
                report.counts["actions_enqueued"] += 1
                if entry.status == "held" and not (entry.hold_reason or "").startswith(
                        FIRST_SYNC_HOLD):
                    report.counts["actions_held_model"] += 1
        if failed:
            tx.add_failed_writes(job.client, {cid: (to_write[cid], reason)
                                              for cid, reason in failed.items()})
        written_ok = [cid for cid in to_write if cid not in failed]
        unchanged = [s.contact.id for s in scored if s.contact.id not in to_write]
        if written_ok or unchanged:
            tx.clear_failed_writes(job.client, written_ok + unchanged)
        for cid, reason in skipped.items():
            tx.record_skipped(job.client, cid, reason, report.run_id)


def _next_state(job: SyncJob, s: _Scored, *, written: bool,
                written_at: datetime | None = None) -> tuple[StoredContact,
                                                                       list[Transition]]:
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


def _count_first_sync(report: SyncReport, s: _Scored, changes: list[Transition],
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


def _held(job: SyncJob, model_change: ModelChange, s: _Scored,
          changes: list[Transition]) -> tuple[set[TransitionKind], str]:
    """The transitions of ``s`` whose actions wait for a person: those the model change
    alone causes (``on_model_change: hold``, the default)."""
    if job.actions.client.on_model_change != "hold" or s.previous is None:
        return set(), ""
    return model_change.caused_by_change(s.previous.model_hash, _before(s.previous),
                                         s.contact, s.events, s.result.scored_at, changes)


def _record_model(job: SyncJob, report: SyncReport) -> None:
    """Remember the model (with its text) before any score names it."""
    if job.model_text is None or job.model_hash is None:
        return
    job.store.save_model(StoredModel(job.client, job.model_hash, job.model.name,
                                     job.model_source, job.model_text), report.started_at)
    report.model = f"{job.model.name} ({job.model_hash})"


def _fetch_events(job: SyncJob, report: SyncReport, contacts: Sequence[Contact],
                  previous: dict[str, StoredContact], bookmark: datetime | None,
                  full: bool, cached: dict[str, list[Event]] | None = None,
                  ) -> dict[str, list[Event]]:
    """Fetch engagement only where it can have moved: new contacts and moved counters.
    Without counters, a contact whose only change is our own write costs nothing
    (``connector.own_writes``)."""
    new, moved = [], []
    engaged = job.crm.engaged
    # a CRM without the notion (counters on the contact) never takes this branch
    complete = bool(getattr(job.crm, "stream_complete", True))
    cached = cached or {}
    for contact in contacts:
        prev = previous.get(contact.id)
        if full or prev is None:
            new.append(contact)
        elif contact.activity_signature is None:
            stored_ids = {e.id for e in cached.get(contact.id, [])}
            if own_writes.nothing_new(contact, prev, job.score_property.name,
                                      own_writes.news(contact, engaged, stored_ids),
                                      complete):
                report.counts["engagement_unchanged"] += 1
            else:
                moved.append(contact)
        elif contact.activity_signature != prev.activity_signature:
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
    times = [t for c in contacts if (t := previous[c.id].last_scored_at) is not None]
    if bookmark is not None:
        times.append(bookmark)
    if not times:
        return None
    return min(times) - timedelta(days=1)


def _deliver(job: SyncJob, report: SyncReport, *, dry_run: bool) -> None:
    cfg = job.actions.client
    if dry_run:  # what the guard would hold, were the run real
        contacts = max(job.store.contact_count(job.client), report.counts["scored"])
        for reason in (invites_over(cfg.guard, report.counts["planned_invites"]),
                       unsubscribes_over(cfg.guard, report.counts["planned_unsubscribes"],
                                         contacts)):
            if reason:
                report.planned.append(f"{reason}: a real run would hold them")
        return
    now = job.clock()
    guard = apply_guard(job.store, job.client, cfg.guard, now)
    report.counts["actions_held_guard"] += guard.held_invites + guard.held_unsubscribes
    report.guard.extend(guard.notes)
    if cfg.invite.daily_cap_per_owner:
        capacity = apply_capacity(job.store, job.client, cfg.invite.daily_cap_per_owner, now)
        report.counts["invites_queued"] += capacity.queued
        report.counts["invites_dequeued"] += capacity.released
    # entries this run planned use the warm-up marker it pulled (``marker.pulled_marker``)
    delivery = deliver_pending(job.store, job.client, replace(job.actions, run_id=report.run_id),
                               now, stop=job.stop)
    report.counts["actions_sent"] += delivery.sent
    report.counts["actions_retrying"] += delivery.retrying
    report.counts["actions_failed"] += delivery.failed
    report.counts["actions_unknown"] += delivery.uncertain
    report.delivery_errors.extend(delivery.errors)
    if delivery.stopped:  # the message in flight was finished; the rest stay pending
        report.interrupted = True
    else:  # what waits for a retry or a person, this run's and earlier runs' alike
        report.left = left_lines(job.client, job.store.outbox(job.client, LEFT_STATES))


def _finish_run(job: SyncJob, report: SyncReport) -> None:
    if report.run_id is None or report.finished_at is None:
        return  # a dry run records no run
    try:
        job.store.finish_run(report.run_id, report.status, report.finished_at,
                             dict(report.counts), report.all_errors, report.as_dict())
    except Exception:  # the run's own outcome matters more than its bookkeeping
        log.exception("could not record the end of run %s", report.run_id)


def _retried(crm: CRM) -> dict[str, int]:
    return dict(crm.retried())


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


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
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
