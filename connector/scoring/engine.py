"""The scoring engine: a pure function from (contact, events, model, now) to a ScoreResult.

No I/O and no clock: ``now`` is passed in, so the same inputs always give the same score,
and the engine can say exactly when time alone will next move it (``next_change_at``):
the earliest of the next decay step, a counted event leaving a rule's window, points
expiring, or a quiet-period rule starting to apply. That moment is exact or early, never
late: a change can only happen at one of those moments (an early one just means a
rescore that finds the same total, e.g. when the total is clamped).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter

from connector.models import Contact, Event, RuleHit, ScoreResult
from connector.scoring.compiled import CompiledModel, EventRule, compile_model
from connector.scoring.rules import RulesModel

_EVIDENCE_LIMIT = 10
_BY_TIME = attrgetter("occurred_at", "id")
_ID = attrgetter("id")
DECAY_RULE_ID = "inactivity-decay"


def score(contact: Contact, events: Sequence[Event], model: RulesModel,
          now: datetime) -> ScoreResult:
    """Score one contact at ``now`` (an aware datetime). Events after ``now`` are ignored."""
    c = compile_model(model)
    points: dict[int, tuple[int, tuple[str, ...]]] = {}
    changes: list[datetime] = []

    fields = contact.fields
    for index, name, worth, predicate in c.field_plan:
        value = fields.get(name) if name != "email" else (fields.get("email") or contact.email)
        if predicate(value):
            points[index] = (worth, (f"{name}={value!r}",))

    matched: dict[int, list[Event]] = {}
    last_activity: datetime | None = None
    last_id = ""
    ordered = True  # events arrive in (time, id) order: no rule needs to sort its matches
    cache = c.match_cache
    rules_for = c.rules_for
    for event in events:
        when = event.occurred_at
        if when > now:
            continue
        if last_activity is None or when > last_activity:
            last_activity = when
            last_id = event.id
        elif when < last_activity or event.id < last_id:
            ordered = False
        else:
            last_id = event.id
        rules = cache.get((event.type, event.url, event.name))
        if rules is None:
            rules = rules_for(event)
        for er in rules:
            bucket = matched.get(er.index)
            if bucket is None:
                matched[er.index] = [event]
            else:
                bucket.append(event)

    event_rules = c.event_rules_by_index
    for index, hits in matched.items():
        got = _event_rule_points(event_rules[index], hits, now, changes, ordered)
        if got is not None:
            points[index] = got

    explanation, raw, earned = _explain(c, points)
    decay_hit = _decay(c, raw, earned, last_activity, now, changes)
    if decay_hit is not None:
        explanation.append(decay_hit)
        raw += decay_hit.points

    total = max(c.min_score, min(c.max_score, raw))
    interests: dict[str, int] = {}
    for hit in explanation:
        if hit.topic and hit.points > 0:
            interests[hit.topic] = interests.get(hit.topic, 0) + hit.points
    future = [t for t in changes if t > now]
    return ScoreResult(
        contact_id=contact.id,
        total=total,
        raw_total=raw,
        tier=c.tier_for(total),
        warm=total >= c.warm_at,
        at_floor=total <= c.min_score,
        interests=interests,
        explanation=tuple(explanation),
        next_change_at=min(future) if future else None,
        scored_at=now,
    )


def _event_rule_points(er: EventRule, hits: list[Event], now: datetime,
                       changes: list[datetime], ordered: bool = False,
                       ) -> tuple[int, tuple[str, ...]] | None:
    """Points of one event rule from its matching events, and the moments they change."""
    if er.simple:  # once, on any match, no time limits: nothing to sort or count
        return er.rule.points, _evidence(hits)
    if er.window is not None:
        cutoff = now - er.window
        hits = [e for e in hits if e.occurred_at > cutoff]
        if not hits:
            return None
        changes.append(min(e.occurred_at for e in hits) + er.window)
    if len(hits) > 1 and not ordered:
        hits.sort(key=_BY_TIME)
    rule = er.rule
    series = _distinct(hits, er.distinct) if er.distinct is not None else hits
    if er.per_occurrence:
        counted = series
        if er.expiry is not None:
            counted = [e for e in series if e.occurred_at + er.expiry > now]
            if counted:
                changes.append(min(e.occurred_at for e in counted) + er.expiry)
        if not counted or _still_active(er, hits, now, changes):
            return None
        total = rule.points * len(counted)
        if er.max_points is not None:
            total = min(total, er.max_points) if total > 0 else max(total, er.max_points)
        return total, _evidence(counted)

    # once-scoring rules: a threshold (of events or distinct values) or the nth occurrence
    count = len(series)
    need = er.nth or er.min_count
    if count < need or (er.max_count is not None and count > er.max_count):
        return None
    if _still_active(er, hits, now, changes):
        return None
    trigger = series[need - 1]
    if er.expiry is not None:
        ends = trigger.occurred_at + er.expiry
        if ends <= now:
            return None
        changes.append(ends)
    evidence = series[:need] if er.nth else series
    return rule.points, _evidence(evidence)


def _still_active(er: EventRule, hits: list[Event], now: datetime,
                  changes: list[datetime]) -> bool:
    """For quiet-period rules: True while the newest matching event is too recent."""
    if er.inactive_for is None:
        return False
    quiet_from = hits[-1].occurred_at + er.inactive_for
    if quiet_from > now:
        changes.append(quiet_from)
        return True
    return False


def _distinct(events: list[Event], attr: str) -> list[Event]:
    """The first event of each distinct value of ``attr`` (in time order)."""
    firsts: dict[object, Event] = {}
    for event in events:
        key = getattr(event, attr)
        if key is not None and key not in firsts:
            firsts[key] = event
    return list(firsts.values())


def _evidence(events: list[Event]) -> tuple[str, ...]:
    if len(events) > _EVIDENCE_LIMIT:
        return (f"{len(events)} events, latest:", *map(_ID, events[-_EVIDENCE_LIMIT:]))
    return tuple(map(_ID, events))


def _explain(c: CompiledModel, points: dict[int, tuple[int, tuple[str, ...]]],
             ) -> tuple[list[RuleHit], int, int]:
    """Rule hits in model order (within an exclusive group only the best rule counts), their
    sum, and the part of it earned by behaviour (what decay may take away)."""
    dropped: set[int] = set()
    for members in c.group_members:  # in index order: on a tie the first rule counts
        best, most = -1, 0
        for i in members:
            got = points.get(i)
            if got is None:
                continue
            if best < 0:
                best, most = i, got[0]
            elif got[0] > most:
                dropped.add(best)
                best, most = i, got[0]
            else:
                dropped.add(i)
    out: list[RuleHit] = []
    raw = earned = 0
    meta = c.meta
    is_event = c.event_rules_by_index
    for index in sorted(points):
        if index in dropped:
            continue
        value, evidence = points[index]
        rule_id, description, topic = meta[index]
        out.append(RuleHit(rule_id, description, value, topic, evidence))
        raw += value
        if index in is_event:
            earned += value
    return out, raw, earned


def _decay(c: CompiledModel, subtotal: int, earned: int, last_activity: datetime | None,
           now: datetime, changes: list[datetime]) -> RuleHit | None:
    """Inactivity decay: ``decay.points`` per full period without activity.

    By default decay only takes away points earned by behaviour (fit data does not go stale
    with silence) and never takes the total below ``decay.min_total`` (0); so a quiet lead
    cools down but is never unsubscribed for being quiet. With ``applies_to: total`` the
    whole score decays down to ``min_total`` (the range minimum unless set): the floor, and
    its unsubscribe, is where a contact that stays quiet ends. Either way new activity
    restarts the count, so it can only help.
    """
    every = c.decay_every
    floor = c.decay_min_total
    room = subtotal - floor if c.decay_total else min(earned, subtotal - floor)
    if every is None or last_activity is None or room <= 0:
        return None
    steps = int((now - last_activity) / every)
    applied = max(steps * c.decay_points, -room)
    if applied > -room:  # further steps can still lower the score
        changes.append(last_activity + every * (steps + 1))
    if applied == 0:
        return None
    days = (now - last_activity).days
    return RuleHit(
        rule_id=DECAY_RULE_ID,
        description=f"No activity for {days} days: {steps} x {c.decay_points} "
                    f"(decay stops at {c.decay_min_total})",
        points=applied,
        evidence=(f"last activity {last_activity.isoformat()}",),
    )
