"""Score a client's stored contacts with the current and a new model as of one moment, and
say what the new model would change: score and tier shifts, and the contacts a sync with
it would invite, unsubscribe or stop treating as warm.

Pure: stored state and events in, a :class:`Preview` out; no CRM call and no write. The
transitions come from the stored state exactly as the sync derives them, and the actions
from the sync's own planner (``plan_actions``), so the lists are the ones a sync with the
new model would act on. Owners' names come from earlier invites in state (the CRM's owner
list is not read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from connector.actions.base import ActionContext, plan_actions
from connector.actions.guard import invites_over, unsubscribes_over
from connector.config import ClientConfig
from connector.crm.base import CRM
from connector.models import (
    Contact,
    ContactState,
    Event,
    Owner,
    ScoreResult,
    TransitionKind,
)
from connector.scoring import RulesModel, score, transitions
from connector.scoring.engine import DECAY_RULE_ID
from connector.scoring.model_change import ModelChange
from connector.store.base import Store, StoredContact

# the three lists of changes (Preview attributes), each with its order
LIST_ORDER: dict[str, Callable[[Change], tuple[Any, ...]]] = {}

# score shift bins (new - old), inclusive; None is open-ended
SHIFT_BINS: tuple[tuple[int | None, int | None], ...] = (
    (None, -20), (-19, -10), (-9, -1), (0, 0), (1, 9), (10, 19), (20, None))
DECAY_TEXT = "Inactivity decay"  # its per-contact description names days, not the rule
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
    name: str
    source: str
    warm_at: int
    range_min: int


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


def preview(people: Iterable[tuple[StoredContact, Sequence[Event]]], current: RulesModel,
            new: RulesModel, now: datetime, client: ClientConfig, *,
            owners: Mapping[str, Owner] | None = None, current_source: str = "current",
            new_source: str = "new", model_change: ModelChange | None = None,
            pending: Mapping[str, int] | None = None, keep: int | None = None) -> Preview:
    """Compare ``current`` and ``new`` on ``people`` (stored state and events) at ``now``.

    Which actions the next sync holds, as the sync decides it: ``model_change`` (the
    stored models, the new one's hash) says which transitions the change alone causes
    (held with ``on_model_change: hold``), then the run guard (``client.guard``) counts
    the rest with the ``pending`` invites and unsubscribes earlier runs left.

    ``people`` is read once, one contact at a time: only counts and the first ``keep``
    changes of each list (None: all) stay in memory."""
    result = Preview(client=client.name, now=now,
                     current=_model_info(current, current_source),
                     new=_model_info(new, new_source),
                     old_tiers=[t.name for t in current.tiers],
                     new_tiers=[t.name for t in new.tiers],
                     pending=Counter(pending or {}),
                     daily_cap=client.invite.daily_cap_per_owner, keep=keep)
    ctx = ActionContext(client=client, crm=cast(CRM, _KnownOwners(owners or {}, client.crm.kind)),
                        dry_run=True)
    for stored, events in people:
        contact = stored.as_contact()
        old = score(contact, events, current, now)
        fresh = score(contact, events, new, now)
        result.contacts += 1
        result.shifts[fresh.total - old.total] += 1
        result.tiers[(old.tier, fresh.tier)] += 1
        result.scores_before[old.total] += 1
        result.scores_after[fresh.total] += 1
        result.warm_before += old.warm
        result.warm_after += fresh.warm
        result.floor_before += old.at_floor
        result.floor_after += fresh.at_floor
        before = previous_state(stored)
        with_new, _ = transitions(before, fresh, new)
        kinds_now = {t.kind for t in transitions(before, old, current)[0]}
        held: set[TransitionKind] = set()
        if model_change is not None and client.on_model_change == "hold":
            held, label = model_change.caused_by_change(stored.model_hash, before, contact,
                                                        events, now, with_new)
            why = (f"model change: {label} -> {new.name} ({model_change.current_hash}) "
                   "alone causes them (on_model_change: hold)")
            if held and why not in result.held_reasons:
                result.held_reasons.append(why)
        for change in with_new:
            target = _LISTS.get(change.kind)
            if target is None:
                continue
            actions = plan_actions(change, fresh, contact, events, ctx)
            result.add(target, _change(
                stored, contact, old, fresh, tuple(a.kind for a in actions),
                change.kind in kinds_now, _threshold(change.kind, current, new), ctx,
                held=MODEL_CHANGE if actions and change.kind in held else None))
    for target in LIST_ORDER:
        result._trim(target)
    _guard(result, client)
    return result


_LISTS = {TransitionKind.BECAME_WARM: "turn_warm", TransitionKind.HIT_FLOOR: "hit_floor",
          TransitionKind.LEFT_WARM: "leave_warm"}
LIST_ORDER.update(turn_warm=lambda c: (-c.after, c.name), hit_floor=lambda c: (c.after, c.name),
                  leave_warm=lambda c: (-c.before, c.name))


def _guard(result: Preview, client: ClientConfig) -> None:
    """What the run guard holds at the sync's delivery: every fresh invite (with its note)
    when there are more than ``guard.max_invites_per_run``, every unsubscribe when they
    are more than the share of the contacts; actions the model change holds are not
    pending, so they do not count (``actions.guard``)."""
    invites = _unheld(result, "turn_warm", "invite")
    if reason := invites_over(client.guard, invites + result.pending["invite"]):
        _hold(result, "turn_warm", "invite")
        result.held_reasons.append(f"{reason} (exit code 4)")
    unsubscribes = _unheld(result, "hit_floor", "unsubscribe")
    count = unsubscribes + result.pending["unsubscribe"]
    if unsubscribes and (reason := unsubscribes_over(client.guard, count, result.contacts)):
        _hold(result, "hit_floor", "unsubscribe")
        result.held_reasons.append(f"{reason} (exit code 4)")


def _unheld(result: Preview, target: str, kind: str) -> int:
    """The changes of list ``target`` with a ``kind`` action no one holds yet."""
    return sum(n for (t, actions, held), n in result.planned.items()
               if t == target and kind in actions and not held)


def _hold(result: Preview, target: str, kind: str) -> None:
    """The run guard holds every change of ``target`` with a ``kind`` action not held yet:
    in the counts and in the changes kept."""
    for (t, actions, held), n in list(result.planned.items()):
        if t == target and kind in actions and not held:
            del result.planned[(t, actions, held)]
            result.planned[(t, actions, GUARD)] += n
    setattr(result, target, [replace(c, held=GUARD) if kind in c.actions and not c.held
                             else c for c in getattr(result, target)])


def pending_from_state(store: Store, client: str) -> Counter[str]:
    """Invites and unsubscribes earlier runs left pending, never tried: the run guard
    counts them with the next sync's own."""
    return Counter(e.kind for e in store.outbox(client, ["pending"])
                   if e.attempts == 0 and e.released_at is None
                   and e.kind in ("invite", "unsubscribe"))


def previous_state(stored: StoredContact) -> ContactState | None:
    """The state a sync compares a new score with (as ``connector.sync`` builds it)."""
    if not stored.tier:
        return None
    return ContactState(score=stored.score if stored.score is not None else 0,
                        tier=stored.tier, warm=stored.warm, at_floor=stored.at_floor,
                        warm_episode=stored.warm_episode)


def moved_rules(old: ScoreResult, new: ScoreResult) -> tuple[RuleMove, ...]:
    """The rules whose points differ between two scores of one contact, largest first."""
    before = {h.rule_id: h for h in old.explanation}
    after = {h.rule_id: h for h in new.explanation}
    moves = []
    for rule_id in dict.fromkeys([*before, *after]):
        b, a = before.get(rule_id), after.get(rule_id)
        points_b, points_a = (b.points if b else 0), (a.points if a else 0)
        if points_b != points_a:
            hit = a or b
            text = (DECAY_TEXT if rule_id == DECAY_RULE_ID
                    else hit.description if hit else rule_id)
            moves.append(RuleMove(rule_id, text, points_b, points_a))
    moves.sort(key=lambda m: (-abs(m.delta), m.rule_id))
    return tuple(moves)


def people_from_store(store: Store, client: str,
                      ) -> Iterator[tuple[StoredContact, list[Event]]]:
    """Every stored contact of ``client`` with its stored events (reads only)."""
    for chunk in store.iter_contacts(client):
        events = store.get_events(client, [s.contact_id for s in chunk])
        for stored in chunk:
            yield stored, events.get(stored.contact_id, [])


def owners_from_state(store: Store, client: str) -> dict[str, Owner]:
    """Salespeople named in earlier invites and notes (the outbox keeps their names)."""
    owners: dict[str, Owner] = {}
    for entry in store.outbox(client):
        p = entry.payload or {}
        oid, name, email = p.get("owner_id"), p.get("owner_name"), p.get("owner_email")
        if oid and oid != "fallback" and name and email:
            owners[str(oid)] = Owner(id=str(oid), name=str(name), email=str(email))
    return owners


class _KnownOwners:
    """Stands in for the CRM when planning actions: owners known from state, no call.
    ``kind`` names the CRM in what the planner says of an owner it does not know."""

    def __init__(self, owners: Mapping[str, Owner], kind: str) -> None:
        self.owners = owners
        self.kind = kind

    def get_owner(self, contact: Contact) -> Owner | None:
        return self.owners.get(contact.owner_id or "")


def _change(stored: StoredContact, contact: Contact, old: ScoreResult, new: ScoreResult,
            actions: tuple[str, ...], by_time: bool, threshold: str | None,
            ctx: ActionContext, held: str | None = None) -> Change:
    f = contact.fields or {}
    name = " ".join(str(p) for p in (f.get("first_name"), f.get("last_name")) if p)
    return Change(contact_id=contact.id, name=name or contact.email or contact.id,
                  email=contact.email, company=f.get("company"), owner=_owner(contact, ctx),
                  before=old.total, after=new.total, before_tier=old.tier,
                  after_tier=new.tier, moved=moved_rules(old, new), actions=actions,
                  by_time=by_time, threshold=threshold, held=held)


def _threshold(kind: TransitionKind, current: RulesModel, new: RulesModel) -> str | None:
    if kind is TransitionKind.HIT_FLOOR:
        before, after, what = current.range.min, new.range.min, "floor"
    else:
        before, after, what = current.warm_at, new.warm_at, "warm at"
    return f"{what} {before} -> {after}" if before != after else None


def _owner(contact: Contact, ctx: ActionContext) -> str:
    """Who the invite would come from: as the sync picks it, or the owner's id when the
    name is not in state yet (the sync would read it from the CRM)."""
    known = ctx.crm.get_owner(contact) if contact.owner_id else None
    if known is not None:
        return known.name
    if contact.owner_id:
        return f"owner {contact.owner_id}"
    return ctx.client.owner_fallback.name


def _model_info(model: RulesModel, source: str) -> ModelInfo:
    return ModelInfo(name=model.name, source=source, warm_at=model.warm_at,
                     range_min=model.range.min)


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
