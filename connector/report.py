"""The sync report: what one run of one client did, for people and for the state store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class SyncReport:
    """Counts and notes of one sync. ``planned`` lists what a dry run would have done."""

    client: str
    kind: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)
    retried: dict[str, int] = field(default_factory=dict)
    planned: list[str] = field(default_factory=list)
    unknown_actions: list[str] = field(default_factory=list)
    run_id: str | None = None
    interrupted: bool = False
    stopped_during: str | None = None  # "pull", "rescoring" or "delivery"
    bookmark: datetime | None = None  # where the next incremental pull starts
    bookmark_saved: bool = False  # this run moved it
    actions_pending: int = 0  # left for the next run (counted when interrupted)
    took_over: str | None = None  # the holder of a dead run whose lease this run took
    model: str | None = None  # the rules model that scored: "name (hash)"
    guard: list[str] = field(default_factory=list)  # why the run guard held actions

    @property
    def guard_tripped(self) -> bool:
        """The guard held this run's mass invites or unsubscribes (a distinct exit code)."""
        return bool(self.guard)

    def held_notes(self) -> list[str]:
        """What waits for a person (model change, guard, daily cap), with the commands."""
        c = self.counts
        out = []
        see = f"`connector actions list --client {self.client} --status held`"
        release = f"`connector actions release --client {self.client}`"
        if c["actions_held_model"]:
            out.append(f"{c['actions_held_model']} action(s) held: the model changed "
                       f"({c['model_rescored']} stored contacts rescored with {self.model}) "
                       f"and it alone caused them; review with {see}, then {release} "
                       "(or `on_model_change: act` in the client file)")
        for note in self.guard:
            out.append(f"{note}; review with {see}, then {release} (exit code 4)")
        if c["invites_queued"]:
            out.append(f"{c['invites_queued']} invite(s) queued for the next day "
                       "(invite.daily_cap_per_owner); see `connector leads --client "
                       f"{self.client}`")
        return out

    def stop_note(self) -> str | None:
        """What an interrupted run saved and what it left, in one line."""
        if not self.interrupted:
            return None
        since = self.bookmark.isoformat() if self.bookmark else "the beginning"
        saved = (f"bookmark saved ({since})" if self.bookmark_saved else
                 f"bookmark not moved: the next sync pulls again from {since}")
        pending = (f"{self.actions_pending} action(s) left pending; the next run delivers "
                   "them" if self.actions_pending else "no action left pending")
        during = f" during {self.stopped_during}" if self.stopped_during else ""
        return f"stopped{during}: {saved}; {pending}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "kind": self.kind,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "counts": dict(self.counts),
            "errors": list(self.errors),
            "degraded": list(self.degraded),
            "retried": dict(self.retried),
            "unknown_actions": list(self.unknown_actions),
            "interrupted": self.interrupted,
            "stopped_during": self.stopped_during,
            "bookmark": self.bookmark.isoformat() if self.bookmark else None,
            "bookmark_saved": self.bookmark_saved,
            "actions_pending": self.actions_pending,
            "took_over": self.took_over,
            "model": self.model,
            "guard": list(self.guard),
            "held": self.held_notes(),
        }

    def summary(self) -> str:
        return f"{self.client}: {self.status}: " + ", ".join(count_words(self.counts))


def count_words(counts: Mapping[str, int]) -> list[str]:
    """A run's counts as words ("30 pulled", "2 actions failed"), the ones a person reads;
    the rest are in the JSON report."""
    c: Counter[str] = Counter(counts)
    parts = [
        f"{c['pulled']} pulled",
        f"{c['scored']} scored",
        f"{c['written']} written",
        f"{c['unchanged']} unchanged",
    ]
    if c["write_failed"]:
        parts.append(f"{c['write_failed']} write failures")
    if c["became_warm"]:
        parts.append(f"{c['became_warm']} turned warm")
    if c["actions_sent"]:
        parts.append(f"{c['actions_sent']} actions sent")
    for key, label in (("actions_retrying", "not sent (retried later)"),
                       ("actions_failed", "failed"), ("actions_unknown", "outcome unknown")):
        if c[key]:
            parts.append(f"{c[key]} actions {label}")
    for key, label in (("actions_held_model", "actions held (model change)"),
                       ("actions_held_guard", "actions held by the guard"),
                       ("invites_queued", "invites queued (daily cap)"),
                       ("already_invited", "warm leads already invited per CRM marker")):
        if c[key]:
            parts.append(f"{c[key]} {label}")
    if c["skipped"]:
        parts.append(f"{c['skipped']} skipped")
    return parts
