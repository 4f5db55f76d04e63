"""Which contacts a sync processes, in which order, and where a stop leaves the run.

An incremental sync is one stream of work: the contacts the CRM pulled (changed since the
bookmark), the stored ones its activity stream names, then those due from state (by time,
failed writes, a new model), in batches that cross the seams. A targeted sync reads its
contacts by id instead. The bookmark moves only once every pulled contact is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from connector import stopping
from connector.crm.base import ContactsById
from connector.errors import ConnectorError
from connector.models import Contact
from connector.sync.batch import Read, complete, process, read_batch
from connector.sync.deliver import deliver
from connector.sync.job import CONTACTS_STREAM, Progress, SyncJob
from connector.sync.readahead import read_ahead
from connector.sync.report import SyncReport

T = TypeVar("T")


def sync_changed(job: SyncJob, report: SyncReport, *, full: bool, dry_run: bool,
                 progress: Progress) -> None:
    """The incremental (or, ``full``, complete) pull, then the due contacts, then delivery."""
    started = report.started_at
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

    def read_next() -> Read | None:
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
        read = read_batch(job, report, contacts, bookmark=bookmark, full=full, dry_run=dry_run,
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
            # processed there (the state check of ``read_batch`` could not see it yet)
            read.contacts = [c for c in read.contacts if c.id not in done]
            if not complete(job, report, read, dry_run=dry_run, seen=seen):
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
            stopped(job, report, "rescoring", None, dry_run=dry_run)
        else:
            stopped(job, report, "pull", checkpoint, dry_run=dry_run)
        return
    if not report.bookmark_saved:
        _pulled_all(job, report, dry_run=dry_run)
    with stopping.unstoppable():  # delivery stops between messages, never inside one
        deliver(job, report, dry_run=dry_run)
    if job.stop.is_set():
        stopped(job, report, "delivery", None, dry_run=dry_run)



@dataclass
class Targeted:
    """The contacts of a targeted sync; ``poll``: the scheduled poll trusting the dirty set
    (it also rescores the contacts due by time from state)."""

    ids: list[str]
    poll: bool = False


def sync_targeted(job: SyncJob, report: SyncReport, targeted: Targeted, *, dry_run: bool,
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
            if batch and not process(job, report, batch, bookmark=None, full=True,
                                      dry_run=dry_run, seen=seen, from_crm=True):
                break
            progress("pull", len(batch))
    except stopping.Stopped:
        pass
    if job.stop.is_set():
        stopped(job, report, "pull", None, dry_run=dry_run)
        return
    if not dry_run and ids:
        job.store.clear_dirty(job.client, ids, report.started_at)
    if targeted.poll and not _rescore_stored(job, report, dry_run=dry_run, seen=seen,
                                             progress=progress):
        stopped(job, report, "rescoring", None, dry_run=dry_run)
        return
    with stopping.unstoppable():
        deliver(job, report, dry_run=dry_run)
    if job.stop.is_set():
        stopped(job, report, "delivery", None, dry_run=dry_run)




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


def stopped(job: SyncJob, report: SyncReport, stage: str, checkpoint: datetime | None, *,
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
        process(job, report, contacts, bookmark=None, full=False, dry_run=dry_run, seen=seen,
                 from_state=set(chunk))
        progress("rescore", len(chunk))
    return True



def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

