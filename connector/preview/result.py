"""What a rules preview found: per-contact changes (:class:`Change`, with the rules that
moved the score), and the :class:`Preview` that counts every change and keeps the first of
each list, with its summaries (score-shift histogram, tier matrix, per-kind outcome, JSON).
Built by :func:`connector.preview.compare.preview`; shown by ``text`` and ``html``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# score shift bins (new - old), inclusive; None is open-ended
SHIFT_BINS: tuple[tuple[int | None, int | None], ...] = (
    (None, -20), (-19, -10), (-9, -1), (0, 0), (1, 9), (10, 19), (20, None))
# why the next sync holds a change's actions
MODEL_CHANGE, GUARD = "model change", "guard"


@dataclass(frozen=True, slots=True)
class RuleMove:
    """One rule whose points differ between the models for a contact."""

    rule_id: str
    description: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before

    def __str__(self) -> str:
        return f"{self.description} {self.before:+d} -> {self.after:+d}"


@dataclass(frozen=True, slots=True)
class Change:
    """A contact a sync with the new model would act on (or stop treating as warm)."""

    contact_id: str
    name: str
    email: str | None
    company: str | None
    owner: str
    before: int  # the current model as of now
    after: int  # the new model as of now
    before_tier: str
    after_tier: str
    moved: tuple[RuleMove, ...]
    actions: tuple[str, ...]  # what the sync would enqueue: invite, notify, unsubscribe
    by_time: bool  # the current model does the same now (time passed, not the change)
    threshold: str | None = None  # a moved threshold that matters here: "warm at 30 -> 25"
    # why the next sync will hold its actions (MODEL_CHANGE or GUARD; None: sent)
    held: str | None = None

    def reasons(self) -> list[str]:
        """Why, in words: the rules that moved the score, then a moved threshold."""
        return [str(m) for m in self.moved] + ([self.threshold] if self.threshold else [])

    def as_dict(self) -> dict[str, Any]:
        return {"contact_id": self.contact_id, "name": self.name, "email": self.email,
                "company": self.company, "owner": self.owner, "old_score": self.before,
                "new_score": self.after, "old_tier": self.before_tier,
                "new_tier": self.after_tier, "actions": list(self.actions),
                "also_with_current_model": self.by_time, "threshold": self.threshold,
                "held": self.held,
                "rules": [{"rule": m.rule_id, "description": m.description,
                           "old_points": m.before, "new_points": m.after, "delta": m.delta}
                          for m in self.moved]}


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One of the two models as the preview names it: its name, file, warm_at and floor."""

    name: str
    source: str
    warm_at: int
    range_min: int


# the three lists of changes (Preview attributes), each with its order
LIST_ORDER: dict[str, Callable[[Change], tuple[Any, ...]]] = {
    "turn_warm": lambda c: (-c.after, c.name), "hit_floor": lambda c: (c.after, c.name),
    "leave_warm": lambda c: (-c.before, c.name)}


@dataclass
class Preview:
    """What the new model would change, for ``contacts`` stored contacts at ``now``."""

    client: str
    now: datetime
    current: ModelInfo
    new: ModelInfo
    contacts: int = 0
    shifts: Counter[int] = field(default_factory=Counter)  # score delta -> contacts
    tiers: Counter[tuple[str, str]] = field(default_factory=Counter)  # (old, new) -> n
    warm_before: int = 0
    warm_after: int = 0
    floor_before: int = 0
    floor_after: int = 0
    scores_before: Counter[int] = field(default_factory=Counter)  # score -> contacts
    scores_after: Counter[int] = field(default_factory=Counter)
    old_tiers: list[str] = field(default_factory=list)
    new_tiers: list[str] = field(default_factory=list)
    turn_warm: list[Change] = field(default_factory=list)
    hit_floor: list[Change] = field(default_factory=list)
    leave_warm: list[Change] = field(default_factory=list)
    # why the next sync holds actions (the model change's and the run guard's own words)
    held_reasons: list[str] = field(default_factory=list)
    # invites and unsubscribes already pending from an earlier run: the guard counts them
    pending: Counter[str] = field(default_factory=Counter)
    daily_cap: int | None = None  # invite.daily_cap_per_owner: it may queue sent invites
    # the changes each list keeps (its first ``keep`` in order; None: all): memory stays
    # flat however many stored contacts the preview reads. The counts below cover all.
    keep: int | None = None
    counts: Counter[str] = field(default_factory=Counter)  # list name -> changes
    # (list name, actions, held) -> changes: what outcome() and the run guard count
    planned: Counter[tuple[str, tuple[str, ...], str | None]] = field(
        default_factory=Counter)
    by_time: bool = False  # some change the current model makes now too

    def add(self, target: str, change: Change) -> None:
        """Count ``change`` in list ``target`` and keep it if it is among the first
        ``keep`` (sorting and trimming every ``keep`` additions: the list stays bounded)."""
        self.counts[target] += 1
        self.planned[(target, tuple(dict.fromkeys(change.actions)), change.held)] += 1
        self.by_time = self.by_time or change.by_time
        changes: list[Change] = getattr(self, target)
        changes.append(change)
        if self.keep is not None and len(changes) >= 2 * self.keep + 1000:
            self._trim(target)

    def _trim(self, target: str) -> None:
        changes: list[Change] = getattr(self, target)
        changes.sort(key=LIST_ORDER[target])  # stable: ties keep the reading order
        if self.keep is not None:
            del changes[self.keep:]

    @property
    def release_command(self) -> str:
        return f"connector actions release --client {self.client}"

    def outcome(self) -> dict[str, dict[str, int]]:
        """Per action kind (invite, notify, unsubscribe): how many the next sync plans,
        holds because the model change alone causes them, holds by the run guard, and
        sends."""
        out: dict[str, dict[str, int]] = {}
        for kind in ("invite", "notify", "unsubscribe"):
            row = {"planned": 0, "held_model_change": 0, "held_guard": 0, "sent": 0}
            for (target, actions, held), n in self.planned.items():
                if target in ("turn_warm", "hit_floor") and kind in actions:
                    row["planned"] += n
                    row[{MODEL_CHANGE: "held_model_change", GUARD: "held_guard"}.get(
                        held or "", "sent")] += n
            out[kind] = row
        return out

    @property
    def raised(self) -> int:
        return sum(n for d, n in self.shifts.items() if d > 0)

    @property
    def lowered(self) -> int:
        return sum(n for d, n in self.shifts.items() if d < 0)

    @property
    def unchanged(self) -> int:
        return self.shifts.get(0, 0)

    @property
    def mean_shift(self) -> float:
        return sum(d * n for d, n in self.shifts.items()) / self.contacts if self.contacts else 0

    def histogram(self) -> list[tuple[str, int]]:
        """Contacts per score-shift bin, from the largest drop to the largest rise."""
        out = []
        for lo, hi in SHIFT_BINS:
            n = sum(c for d, c in self.shifts.items()
                    if (lo is None or d >= lo) and (hi is None or d <= hi))
            out.append((_bin_label(lo, hi), n))
        return out

    def tier_rows(self) -> list[tuple[str, list[int]]]:
        """The tier-shift matrix: one row per old tier, one count per new tier."""
        return [(old, [self.tiers.get((old, new), 0) for new in self.new_tiers])
                for old in self.old_tiers]

    @property
    def invites(self) -> list[Change]:
        """The invites among the changes kept (``invite_count``: all of them)."""
        return [c for c in self.turn_warm if "invite" in c.actions]

    @property
    def unsubscribes(self) -> list[Change]:
        """The unsubscribes among the changes kept (``unsubscribe_count``: all)."""
        return [c for c in self.hit_floor if "unsubscribe" in c.actions]

    @property
    def invite_count(self) -> int:
        return self._with("turn_warm", "invite")

    @property
    def unsubscribe_count(self) -> int:
        return self._with("hit_floor", "unsubscribe")

    def _with(self, target: str, kind: str) -> int:
        return sum(n for (t, actions, _), n in self.planned.items()
                   if t == target and kind in actions)

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client, "now": self.now.isoformat(),
            "current_model": _info(self.current), "new_model": _info(self.new),
            "contacts": self.contacts, "raised": self.raised, "lowered": self.lowered,
            "unchanged": self.unchanged, "mean_shift": round(self.mean_shift, 2),
            "warm": {"current": self.warm_before, "new": self.warm_after},
            "at_floor": {"current": self.floor_before, "new": self.floor_after},
            "score_shift": [{"bin": label, "contacts": n} for label, n in self.histogram()],
            "tier_shift": [{"from": old, "to": new, "contacts": n}
                           for (old, new), n in sorted(self.tiers.items())],
            "invites": self.invite_count, "unsubscribes": self.unsubscribe_count,
            "actions": self.outcome(), "held_reasons": list(self.held_reasons),
            "already_pending": dict(self.pending), "daily_cap_per_owner": self.daily_cap,
            "release": self.release_command if self.held_reasons else None,
            "turn_warm": [c.as_dict() for c in self.turn_warm],
            "hit_floor": [c.as_dict() for c in self.hit_floor],
            "leave_warm": [c.as_dict() for c in self.leave_warm],
        }


def _info(m: ModelInfo) -> dict[str, Any]:
    return {"name": m.name, "file": m.source, "warm_at": m.warm_at, "floor": m.range_min}


def _bin_label(lo: int | None, hi: int | None) -> str:
    if lo is None:
        return f"<= {hi}"
    if hi is None:
        return f">= +{lo}"
    if lo == hi:
        return "0" if lo == 0 else f"{lo:+d}"
    return f"{lo:+d}..{hi:+d}"
