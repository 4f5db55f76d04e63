"""A rules model compiled for speed: predicates built once, URL matches memoised.

The engine scores tens of thousands of contacts per second on one core, so the hot loop
touches only these plain objects: no pydantic, no regex compilation, no allocation beyond
the matched-event lists. URLs, job titles and industries repeat across contacts, so every
string predicate remembers its answers (bounded).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from connector.models import Event
from connector.scoring.rules import Rule, RulesModel, parse_duration

_MEMO_LIMIT = 50_000


class _Memo:
    """A string predicate with a bounded memory of its answers."""

    __slots__ = ("cache", "fn")

    def __init__(self, fn: Callable[[str], bool]) -> None:
        self.fn = fn
        self.cache: dict[str, bool] = {}

    def __call__(self, value: str) -> bool:
        hit = self.cache.get(value)
        if hit is None:
            if len(self.cache) >= _MEMO_LIMIT:
                self.cache.clear()
            hit = self.cache[value] = self.fn(value)
        return hit


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


def _field_predicate(rule: Rule) -> Callable[[Any], bool]:
    """Build ``value -> bool`` for a field rule. Lists (tags) match if any element does."""
    if rule.exists is not None:
        want = rule.exists
        return lambda v: (v not in (None, "", [], ())) == want
    if rule.min is not None or rule.max is not None:
        lo = rule.min if rule.min is not None else float("-inf")
        hi = rule.max if rule.max is not None else float("inf")

        def in_range(v: Any) -> bool:
            n = _as_number(v)
            return n is not None and lo <= n <= hi
        texts = _Memo(in_range)  # sizes and the like repeat as text: parse each once

        def in_range_any(v: Any) -> bool:
            return texts(v) if type(v) is str else in_range(v)
        return in_range_any
    if rule.email_domain is not None:
        domains = tuple(d.lower().lstrip("@") for d in rule.email_domain)

        def domain_ok(v: str) -> bool:
            host = v.rsplit("@", 1)[-1].lower()
            return any(host == d or host.endswith("." + d) for d in domains)
        return _stringwise(_Memo(domain_ok))
    if rule.equals is not None:
        target = rule.equals
        number = _as_number(target)
        text = str(target).lower()

        def equal(v: str) -> bool:
            if number is not None:
                n = _as_number(v)
                if n is not None:
                    return n == number
            return v.strip().lower() == text
        return _stringwise(_Memo(equal))
    if rule.one_of is not None:
        options = frozenset(str(o).strip().lower() for o in rule.one_of)
        return _stringwise(_Memo(lambda v: v.strip().lower() in options))
    if rule.contains is not None:
        needle = rule.contains.lower()
        return _stringwise(_Memo(lambda v: needle in v.lower()))
    pattern = re.compile(rule.regex or "", re.IGNORECASE)
    return _stringwise(_Memo(lambda v: pattern.search(v) is not None))


def _stringwise(memo: _Memo) -> Callable[[Any], bool]:
    """Apply a memoised string predicate to any field value; strings take the fast path."""
    cache = memo.cache

    def check(value: Any) -> bool:
        if type(value) is str:
            hit = cache.get(value)
            return memo(value) if hit is None else hit
        if value is None:
            return False
        if isinstance(value, list | tuple | set | frozenset):
            return any(check(v) for v in value)
        return memo(str(value))
    return check


def _text_matcher(glob: str | None, regex: str | None) -> _Memo | None:
    if glob is not None:
        compiled = re.compile(fnmatch.translate(glob), re.IGNORECASE)
        return _Memo(lambda v: compiled.match(v) is not None)
    if regex is not None:
        compiled = re.compile(regex, re.IGNORECASE)
        return _Memo(lambda v: compiled.search(v) is not None)
    return None


@dataclass(slots=True)
class FieldRule:
    index: int
    rule: Rule
    predicate: Callable[[Any], bool]


@dataclass(slots=True)
class EventRule:
    index: int
    rule: Rule
    url: _Memo | None
    name: _Memo | None
    window: timedelta | None
    expiry: timedelta | None
    inactive_for: timedelta | None
    distinct: str | None
    min_count: int
    max_count: int | None
    nth: int | None
    per_occurrence: bool
    max_points: int | None
    simple: bool = False

    def matches(self, event: Event) -> bool:
        if self.url is not None and (event.url is None or not self.url(event.url)):
            return False
        return not (self.name is not None and (event.name is None or not self.name(event.name)))


@dataclass(slots=True)
class CompiledModel:
    model: RulesModel
    field_rules: list[FieldRule]
    event_rules: list[EventRule]
    by_type: dict[str, list[EventRule]]
    event_rules_by_index: dict[int, EventRule]
    meta: list[tuple[str, str, str | None]]
    group_members: list[tuple[int, ...]]
    decay_points: int
    decay_every: timedelta | None
    decay_min_total: int
    decay_total: bool = False  # decay.applies_to == "total": the whole score decays
    groups: dict[str, list[int]] = field(default_factory=dict)
    # the model's numbers the engine reads per contact, read off the model once
    min_score: int = 0
    max_score: int = 0
    warm_at: int = 0
    first_tier: str = ""
    tier_steps: tuple[tuple[int, str], ...] = ()  # (from, name) of the tiers after the first
    # (index, field name, points, predicate) of each field rule, in model order
    field_plan: tuple[tuple[int, str, int, Callable[[Any], bool]], ...] = ()
    match_cache: dict[tuple[str, str | None, str | None], tuple[EventRule, ...]] = field(
        default_factory=dict)

    def tier_for(self, total: int) -> str:
        """``RulesModel.tier_for`` from the numbers read once."""
        name = self.first_tier
        for start, tier in self.tier_steps:
            if total >= start:
                name = tier
        return name

    def rules_for(self, event: Event) -> tuple[EventRule, ...]:
        """The event rules ``event`` matches, memoised by (type, url, name): those repeat."""
        key = (event.type, event.url, event.name)
        hit = self.match_cache.get(key)
        if hit is None:
            if len(self.match_cache) >= _MEMO_LIMIT:
                self.match_cache.clear()
            candidates = self.by_type.get(event.type, ())
            hit = self.match_cache[key] = tuple(er for er in candidates if er.matches(event))
        return hit


def compile_model(model: RulesModel) -> CompiledModel:
    """The compiled form of ``model``, built once and kept on the model."""
    private = model.__pydantic_private__  # not model._compiled: pydantic's slow lookup
    cached = private.get("_compiled") if private else None
    if cached is not None:
        return cast(CompiledModel, cached)
    field_rules: list[FieldRule] = []
    event_rules: list[EventRule] = []
    by_type: dict[str, list[EventRule]] = {}
    groups: dict[str, list[int]] = {}
    for index, rule in enumerate(model.rules):
        if rule.group:
            groups.setdefault(rule.group, []).append(index)
        if rule.field is not None:
            field_rules.append(FieldRule(index, rule, _field_predicate(rule)))
            continue
        er = EventRule(
            index=index, rule=rule,
            url=_text_matcher(rule.url, rule.url_regex),
            name=_text_matcher(rule.name, None),
            window=parse_duration(rule.within),
            expiry=parse_duration(rule.expires_after),
            inactive_for=parse_duration(rule.inactive_for),
            distinct=rule.distinct,
            min_count=rule.min_count or 1,
            max_count=rule.max_count,
            nth=rule.nth,
            per_occurrence=bool(rule.per_occurrence),
            max_points=rule.max_points,
        )
        er.simple = not (er.window or er.expiry or er.inactive_for or er.distinct
                         or er.max_count or er.nth or er.per_occurrence or er.min_count > 1)
        event_rules.append(er)
        by_type.setdefault(str(rule.event), []).append(er)
    decay = model.decay
    compiled = CompiledModel(
        model=model, field_rules=field_rules, event_rules=event_rules, by_type=by_type,
        event_rules_by_index={er.index: er for er in event_rules},
        meta=[(r.id, r.description or r.id, r.topic) for r in model.rules],
        group_members=[tuple(m) for m in groups.values() if len(m) > 1],
        decay_points=decay.points if decay else 0,
        decay_every=parse_duration(decay.every) if decay else None,
        decay_min_total=decay.stops_at(model.range.min) if decay else 0,
        decay_total=bool(decay and decay.applies_to == "total"),
        groups=groups,
        min_score=model.min_score, max_score=model.max_score, warm_at=model.warm_at,
        first_tier=model.tiers[0].name,
        tier_steps=tuple((t.from_score or 0, t.name) for t in model.tiers[1:]),
        field_plan=tuple((fr.index, fr.rule.field or "", fr.rule.points, fr.predicate)
                         for fr in field_rules),
    )
    model._compiled = compiled
    return compiled
