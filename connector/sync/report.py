"""The sync report: what one run of one client did, for people and for the state store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LISTED = 10  # already-warm leads a first sync's report names


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
    # the client's first sync (no pull of it had finished): its ``first_sync`` setting, and
    # the best of the leads it found already warm (all: `connector leads --already-warm`)
    first_sync: str | None = None
    already_warm: list[dict[str, Any]] = field(default_factory=list)
    # what changed in the account's detected capabilities, and a declared crm.plan that
    # disagrees with them (connector/crm/detected.py)
    capabilities: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # done, but not as configured
    # this run's delivery problems, one line per entry (stored with the run's errors; the
    # report prints ``left`` instead, which groups them with the earlier runs' ones)
    delivery_errors: list[str] = field(default_factory=list)
    # after a finished delivery: the outbox's waiting, failed and unknown actions, grouped
    # with their reason and command (``connector.actions.left``); None: not looked at
    left: list[str] | None = None

    def warn(self, note: str) -> bool:
        """Add a warning once (the same cause in many contacts is one line); True if new."""
        if note in self.warnings:
            return False
        self.warnings.append(note)
        return True

    def list_already_warm(self, lead: dict[str, Any]) -> None:
        """Keep ``lead`` if it is among the LISTED best already-warm leads (by score)."""
        self.already_warm.append(lead)
        self.already_warm.sort(key=lambda row: (-int(row["score"]), str(row["contact_id"])))
        del self.already_warm[LISTED:]

    def first_sync_lines(self) -> list[str]:
        """On a client's first sync (the report's first lines): what it did with the leads
        already warm and the contacts already at the floor, and the one command to take
        next. Empty on any other sync."""
        if self.first_sync is None:
            return []
        c, name, mode = self.counts, self.client, self.first_sync
        warm, floor = c["first_sync_warm"], c["first_sync_floor"]
        dry = "dry run, nothing saved: " if "dry run" in self.kind else ""
        found = (f"{dry}first sync of {name} (first_sync: {mode}): {warm} lead(s) already "
                 f"warm, {floor} contact(s) already at the floor")
        if mode == "baseline":
            did = ("recorded as the starting point, with no invite, sales note or "
                   "unsubscribe; only later transitions are acted on (a lead already warm is "
                   "invited once it cools and warms again)")
            then = (f"`connector leads --client {name} --already-warm` (the already-warm "
                    "leads, for sales)")
        elif mode == "hold":
            did = (f"their {c['actions_held_first_sync']} invite(s), sales note(s) and "
                   "unsubscribe(s) are held for review, none sent")
            then = (f"`connector actions list --client {name} --status held`, then "
                    f"`connector actions release --client {name}` (or `discard`)")
        elif self.guard:
            did = "acted on like any transition, and the run guard held them"
            then = f"`connector actions list --client {name} --status held`"
        else:
            did = "acted on like any transition: invited (with sales notes) and unsubscribed"
            then = f"`connector actions list --client {name}`"
        lines = [f"{found}: {did}", f"next: {then}"]
        if mode == "baseline":
            for lead in self.already_warm:
                who = " ".join(str(p) for p in (lead.get("name"), lead.get("email") and
                                                f"<{lead['email']}>") if p)
                lines.append(f"  already warm: {who or lead['contact_id']} (contact "
                             f"{lead['contact_id']}), score {lead['score']}")
            if warm > len(self.already_warm):
                lines.append(f"  ... and {warm - len(self.already_warm)} more")
        return lines

    @property
    def guard_tripped(self) -> bool:
        """The guard held this run's mass invites or unsubscribes (a distinct exit code)."""
        return bool(self.guard)

    @property
    def work_left(self) -> bool:
        """The run finished but left work undone: score writes that failed, or actions
        waiting for a retry, failed or of unknown outcome (a distinct exit code)."""
        if self.interrupted or self.status not in ("ok", "partial"):
            return False
        return self.status == "partial" or bool(self.left)

    @property
    def all_errors(self) -> list[str]:
        """Every error of the run, delivery included (what the state store records)."""
        return [*self.errors, *self.delivery_errors]

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
            out.append(f"{note}; review with {see}, then {release}")
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
            "first_sync": None if self.first_sync is None else {
                "mode": self.first_sync, "already_warm": self.counts["first_sync_warm"],
                "already_at_floor": self.counts["first_sync_floor"],
                "held": self.counts["actions_held_first_sync"],
                "leads": list(self.already_warm), "lines": self.first_sync_lines()},
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "counts": dict(self.counts),
            "errors": self.all_errors,
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
            "capabilities": list(self.capabilities),
            "held": self.held_notes(),
            "warnings": list(self.warnings),
            "left": self.left,
            "work_left": self.work_left,
        }

    def summary(self) -> str:
        parts = count_words(self.counts)
        if self.first_sync is not None:
            parts.append(f"first sync ({self.first_sync}): {self.counts['first_sync_warm']} "
                         f"already warm, {self.counts['first_sync_floor']} already at the floor")
        return f"{self.client}: {self.status}: " + ", ".join(parts)


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
                       ("already_invited", "warm leads already invited per CRM marker"),
                       ("owner_fallback", "warm leads sent from owner_fallback (warnings)")):
        if c[key]:
            parts.append(f"{c[key]} {label}")
    if c["skipped"]:
        parts.append(f"{c['skipped']} skipped")
    return parts
