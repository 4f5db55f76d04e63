"""Score a client's stored contacts with the current and a new model as of one moment, and
say what the new model would change: score and tier shifts, and the contacts a sync with
it would invite, unsubscribe or stop treating as warm.

Pure: stored state and events in, a :class:`Preview` out; no CRM call and no write. The
transitions come from the stored state exactly as the sync derives them, and the actions
from the sync's own planner (``plan_actions``), so the lists are the ones a sync with the
new model would act on. Owners' names come from earlier invites in state (the CRM's owner
list is not read; :mod:`connector.preview.state` reads what the preview needs from state).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol, cast

from connector.actions.base import plan_actions
from connector.actions.context import ActionContext
from connector.actions.guard import invites_over, unsubscribes_over
from connector.config import ClientConfig
from connector.crm.base import CRM
from connector.models import (
    Contact,
    ContactState,
    Event,
    Owner,
    ScoreResult,
    Transition,
    TransitionKind,
)
from connector.preview.result import (
    GUARD,
    LIST_ORDER,
    MODEL_CHANGE,
    Change,
    ModelInfo,
    Preview,
    RuleMove,
)
from connector.scoring import RulesModel, score, transitions
from connector.scoring.engine import DECAY_RULE_ID
from connector.store.base import StoredContact

DECAY_TEXT = "Inactivity decay"  # its per-contact description names days, not the rule


class ChangeJudge(Protocol):
    """Which transitions a model change alone causes (``connector.sync.model_change``)."""

    current_hash: str | None

    def caused_by_change(self, stored_hash: str | None, before: ContactState | None,
                         contact: Contact, events: Sequence[Event], now: datetime,
                         changes: Sequence[Transition],
                         known: tuple[RulesModel, Sequence[Transition]] | None = None,
                         ) -> tuple[set[TransitionKind], str]: ...


def preview(people: Iterable[tuple[StoredContact, Sequence[Event]]], current: RulesModel,
            new: RulesModel, now: datetime, client: ClientConfig, *,
            owners: Mapping[str, Owner] | None = None, current_source: str = "current",
            new_source: str = "new", model_change: ChangeJudge | None = None,
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
    ctx = ActionContext(client=client, crm=cast(CRM, _KnownOwners(owners or {}, client.crm.kind)))
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
        with_current, _ = transitions(before, old, current)
        kinds_now = {t.kind for t in with_current}
        held: set[TransitionKind] = set()
        if model_change is not None and client.on_model_change == "hold":
            held, label = model_change.caused_by_change(stored.model_hash, before, contact,
                                                        events, now, with_new,
                                                        known=(current, with_current))
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
