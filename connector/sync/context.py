"""What every stage of one run is handed (``RunContext``: the job, the report, the run's
effects, its progress callback, what it has processed so far), the ``Effects`` a run
changes the world through, and the ``BatchRecord`` a batch hands them to save."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from connector.clock import Clock
from connector.config import ClientConfig
from connector.crm.base import CRM
from connector.models import Contact, Event, Transition
from connector.store.base import OutboxEntry, Store, StoredContact
from connector.sync.job import Progress, SyncJob
from connector.sync.report import SyncReport


@dataclass
class BatchRecord:
    """What one batch leaves in state, for the run's effects to save."""

    to_write: dict[str, int]
    failed: dict[str, str]
    skipped: dict[str, str]
    unchanged: list[str]  # scored, and the CRM already shows the score
    rows: list[StoredContact] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    outbox: list[OutboxEntry] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def settled(self) -> list[str]:
        """Contacts no longer owed a write: written now, or already right in the CRM."""
        return [cid for cid in self.to_write if cid not in self.failed] + self.unchanged


class Effects(Protocol):
    """Everything a run changes outside itself: the run record, the score property and the
    scores in the CRM, state, the bookmark, the dirty marks and the actions sent. A real
    run's effects (``effects.RealEffects``) make the changes; a dry run's
    (``effects.DryEffects``) note in the report what they would have been."""

    label: str  # added to the report's kind
    keeps_capabilities: bool  # the detected capabilities are kept in state

    def open_run(self, ctx: RunContext, kind: str) -> None: ...
    def prepare(self, ctx: RunContext) -> None: ...
    def unprocessed(self, ctx: RunContext, contacts: Sequence[Contact],
                    previous: Mapping[str, StoredContact]) -> list[Contact]: ...
    def write_scores(self, ctx: RunContext,
                     to_write: dict[str, int]) -> tuple[dict[str, str], datetime | None]: ...
    def not_rescored(self, ctx: RunContext, ids: Sequence[str]) -> None: ...
    def save_batch(self, ctx: RunContext, batch: BatchRecord) -> None: ...
    def save_bookmark(self, ctx: RunContext, at: datetime) -> None: ...
    def clear_dirty(self, ctx: RunContext, ids: Sequence[str]) -> None: ...
    def send(self, ctx: RunContext) -> None: ...
    def pending_actions(self, ctx: RunContext) -> int: ...


@dataclass
class RunContext:
    """One run of one client's sync, as its stages see it."""

    job: SyncJob
    report: SyncReport
    effects: Effects
    progress: Progress
    full: bool = False  # a resync: every contact and all engagement read again
    bookmark: datetime | None = None  # where this run's pull starts (None: the beginning)
    # contacts this run must not process again (``Effects.unprocessed``, ``not_rescored``)
    seen: set[str] = field(default_factory=set)

    @property
    def started(self) -> datetime:
        return self.report.started_at

    @property
    def client(self) -> str:
        return self.job.client

    @property
    def config(self) -> ClientConfig:
        return self.job.config

    @property
    def crm(self) -> CRM:
        return self.job.crm

    @property
    def store(self) -> Store:
        return self.job.store

    @property
    def stop(self) -> threading.Event:
        return self.job.stop

    @property
    def clock(self) -> Clock:
        return self.job.clock

    def stopped(self, stage: str, checkpoint: datetime | None = None) -> None:
        """A stop was asked for during ``stage``: save the pull's checkpoint (the newest
        modification time of the fully processed batches) and note where the run stopped."""
        self.report.interrupted = True
        self.report.stopped_during = stage
        if checkpoint is not None:
            self.effects.save_bookmark(self, checkpoint)
