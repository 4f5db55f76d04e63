"""Which contacts a sync processes, in which order, and where a stop leaves the run.

An incremental sync is one stream of work: the contacts the CRM pulled (changed since the
bookmark), the stored ones its activity stream names, then those due from state (by time,
failed writes, a new model), in batches that cross the seams, so the last pulled batch and
the due contacts share one write call. A targeted sync reads its contacts by id instead.
The bookmark moves only once every pulled contact is recorded.

A stop is honoured between contacts of the pull and between engagement requests
(``stopping``): a batch cut short is dropped whole, so nothing half-processed is recorded
and the bookmark never passes a contact that was not processed.
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
from connector.sync.context import RunContext
from connector.sync.deliver import deliver
from connector.sync.job import CONTACTS_STREAM
from connector.sync.readahead import read_ahead

T = TypeVar("T")


@dataclass
class Targeted:
    """The contacts of a targeted sync; ``poll``: the scheduled poll trusting the dirty set
    (it also rescores the contacts due by time from state)."""

    ids: list[str]
    poll: bool = False


def sync_changed(ctx: RunContext) -> None:
    """The incremental (or, ``ctx.full``, complete) pull, then the due contacts, then
    delivery."""
    stored_bookmark = ctx.store.get_bookmark(ctx.client, CONTACTS_STREAM)
    if stored_bookmark is None:  # no pull of this client ever finished: its first sync
        ctx.report.first_sync = ctx.config.first_sync
    ctx.bookmark = None if ctx.full else stored_bookmark
    ctx.report.bookmark = ctx.bookmark
    pulled = _until_stopped(ctx.crm.iter_contacts(ctx.bookmark, ctx.started), ctx.stop)
    checkpoint = _finish_batches(ctx, _Work(ctx, pulled))
    if ctx.stop.is_set():
        if ctx.report.bookmark_saved:
            ctx.stopped("rescoring")
        else:
            ctx.stopped("pull", checkpoint)
        return
    if not ctx.report.bookmark_saved:
        _pulled_all(ctx)
    deliver(ctx)


def _finish_batches(ctx: RunContext, work: _Work) -> datetime | None:
    """Score, write and record the batches ``work`` reads; the pull's checkpoint (the
    newest modification time of the fully processed pulled batches, when the CRM pulls
    in that order). Batch k+1 is read (pull page, state, engagement) while batch k is
    scored, written and recorded: the rate limit does not idle between batches."""
    checkpoint: datetime | None = None
    ordered = ctx.crm.incremental_ordered and ctx.bookmark is not None
    done: set[str] = set()
    try:
        for read in read_ahead(work.next_read, ctx.stop):
            if ctx.stop.is_set() or read.stopped:
                break
            # read while the batch before was being recorded: a contact both hold was
            # processed there (the state check of ``read_batch`` could not see it yet)
            read.contacts = [c for c in read.contacts if c.id not in done]
            if not complete(ctx, read):
                break
            done = {c.id for c in read.contacts}
            work.finished()
            _progress(ctx, read)
            if ordered:
                checkpoint = _checkpoint(read, ctx.started, checkpoint)
            if read.pull_done and not ctx.report.bookmark_saved:
                _pulled_all(ctx)
    except stopping.Stopped:
        pass
    return checkpoint


def _progress(ctx: RunContext, read: Read) -> None:
    if read.pulled:
        ctx.progress("pull", len(read.pulled))
    if read.from_state:
        ctx.progress("rescore", len(read.from_state))


def _checkpoint(read: Read, started: datetime, checkpoint: datetime | None) -> datetime | None:
    if not read.pulled:
        return checkpoint
    last = max((c.updated_at for c in read.pulled if c.updated_at), default=None)
    return min(last, started) if last else checkpoint


def sync_targeted(ctx: RunContext, targeted: Targeted) -> None:
    """Read just these contacts by id, fetch all their engagement, score, write, record,
    act; clear their dirty marks (those not newer than this run's start). The bookmark
    stays where the last pull left it."""
    if not isinstance(ctx.crm, ContactsById):
        raise ConnectorError(f"the {ctx.crm.kind} adapter cannot read contacts by id, so a "
                             "targeted sync is not possible; set webhooks.enabled: false")
    ids = list(dict.fromkeys(targeted.ids))
    ctx.report.counts["targeted"] += len(ids)
    _read_by_id(ctx, ctx.crm, ids)
    if ctx.stop.is_set():
        ctx.stopped("pull")
        return
    ctx.effects.clear_dirty(ctx, ids)
    if targeted.poll and not _rescore_stored(ctx):
        ctx.stopped("rescoring")
        return
    deliver(ctx)


def _read_by_id(ctx: RunContext, crm: ContactsById, ids: list[str]) -> None:
    """Score, write and record ``ids`` read from the CRM, a batch at a time, until done
    or stopped."""
    size = ctx.job.batch_size
    try:
        for start in range(0, len(ids), size):
            if ctx.stop.is_set():
                return
            batch = crm.get_contacts_by_id(ids[start:start + size])
            ctx.report.counts["pulled"] += len(batch)
            # engagement is fetched whole: a webhook says something happened even where
            # the record's counters or update time did not move
            if batch and not process(ctx, batch, from_crm=True, whole=True):
                return
            ctx.progress("pull", len(batch))
    except stopping.Stopped:
        pass


def _pulled_all(ctx: RunContext) -> None:
    """Every changed contact is recorded: the pull is done. Due contacts, failed writes and
    pending actions live in state, so what follows never needs the old bookmark."""
    ctx.effects.save_bookmark(ctx, ctx.started)


class _Work:
    """The contacts of one sync in order, each tagged with where it comes from: "pull"
    (changed in the CRM), "engaged" (stored, named by the CRM's activity stream) or
    "state" (due from state: rescored without any CRM read), read a batch at a time
    (``next_read``). ``pull_done`` turns true once every pulled and engaged contact has
    been handed out."""

    def __init__(self, ctx: RunContext, pulled: Iterable[Contact]) -> None:
        self.ctx, self.pulled = ctx, pulled
        self.pull_done = False
        # batches handed to the finishing loop and batches it finished: what is due from
        # state is asked only once all pulled contacts are recorded (read ahead or not)
        self._handed = self._finished = 0
        self._changed = threading.Condition()
        self._chunks = _chunks(self, ctx.job.batch_size)

    def next_read(self) -> Read | None:
        """The next batch, read from the CRM and state (runs in the read-ahead thread)."""
        ctx = self.ctx
        batch = next(self._chunks, None)
        if batch is None or ctx.stop.is_set():
            return None
        pull_done = self.pull_done  # all pulled contacts are in this batch or before
        self.handed()
        crm_ids = {c.id for c, kind in batch if kind != "state"}
        contacts = [c for c, kind in batch if kind != "state" or c.id not in crm_ids]
        from_state = {c.id for c, kind in batch if kind == "state"} - crm_ids
        fresh = [c for c, kind in batch if kind == "pull"]
        ctx.report.counts["pulled"] += len(fresh)
        read = read_batch(ctx, contacts, from_state=from_state, whole=ctx.full)
        read.pulled, read.pull_done = fresh, pull_done
        read.from_crm = {c.id for c in fresh}
        return read

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
        ctx = self.ctx
        for contact in self.pulled:
            yield contact, "pull"
        if ctx.stop.is_set():
            return
        for contact in _engaged_unpulled(ctx):
            yield contact, "engaged"
        self.pull_done = True
        if ctx.stop.is_set():
            return
        self._wait_recorded()
        for chunk in _stored_to_rescore(ctx):
            if ctx.stop.is_set():
                return
            stored = ctx.store.get_contacts(ctx.client, chunk)
            for row in stored.values():
                yield row.as_contact(), "state"


def _engaged_unpulled(ctx: RunContext) -> Iterator[Contact]:
    """Stored contacts the pull did not yield but the CRM's activity stream names (a site
    visit leaves ActiveCampaign's ``udate`` alone): from state, whose record has not
    moved, with their engagement fetched where the stream shows something state lacks."""
    engaged = ctx.crm.engaged
    if not engaged or ctx.bookmark is None:
        return
    ids = sorted(engaged)
    size = ctx.job.batch_size
    for start in range(0, len(ids), size):
        if ctx.stop.is_set():
            return
        stored = ctx.store.get_contacts(ctx.client, ids[start:start + size])
        for row in stored.values():
            yield row.as_contact()


def _until_stopped(contacts: Iterable[Contact], stop: threading.Event) -> Iterator[Contact]:
    """The contacts until a stop is asked for (no further page is then fetched)."""
    for contact in contacts:
        yield contact
        if stop.is_set():
            return


def _stored_to_rescore(ctx: RunContext) -> Iterator[list[str]]:
    """Contacts whose score changes by time now, failed writes and, after a model change,
    every contact another model scored (from state: no engagement call; what the new
    model alone changes is held for a person, see ``record``), in batches. The model
    change's are read from state a page at a time as they are rescored, so memory stays
    flat however many contacts it concerns."""
    store, client, seen, counts = ctx.store, ctx.client, ctx.seen, ctx.report.counts
    size, model = ctx.job.batch_size, ctx.job.model_hash
    due = [cid for cid in store.due_contacts(client, ctx.started) if cid not in seen]
    retry = [cid for cid in store.failed_writes(client) if cid not in seen]
    counts["due"] += len(due)
    counts["write_retried"] += len(retry)
    first = list(dict.fromkeys(due + retry))
    for start in range(0, len(first), size):
        yield first[start:start + size]
    if not model:
        return
    taken = set(first)
    for page in store.iter_contacts_with_other_model(client, model, size):
        # (a dry run saves nothing: what it rescored above is in ``seen``, and counted)
        counts["model_rescored"] += sum(1 for cid in page if cid not in seen or cid in taken)
        ids = [cid for cid in page if cid not in seen and cid not in taken]
        if ids:
            yield ids


def _rescore_stored(ctx: RunContext) -> bool:
    """The stored contacts to rescore (``_stored_to_rescore``), from state. False when a
    stop cut it short (the rest stay due in state for the next run)."""
    for chunk in _stored_to_rescore(ctx):
        if ctx.stop.is_set():
            return False
        stored = ctx.store.get_contacts(ctx.client, chunk)
        process(ctx, [s.as_contact() for s in stored.values()], from_state=set(chunk))
        ctx.progress("rescore", len(chunk))
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
