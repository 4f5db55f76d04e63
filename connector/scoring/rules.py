"""The rules model: a YAML file marketers and sales can read, validated by pydantic.

A rule is flat on purpose (one row of a spreadsheet): an id, points, an optional topic and
exclusive group, and EITHER a field condition (``field`` + one operator) OR an event
condition (``event`` + optional filters and one way of counting). See docs/rules.md.
Reading and writing the YAML file: :mod:`connector.scoring.rules_file`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from connector.scoring.rules_errors import Misplaced

_DURATION = re.compile(r"^\s*(\d+)\s*(h|d|w|hours?|days?|weeks?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}

FIELD_OPERATORS = ("equals", "one_of", "contains", "regex", "min", "max", "exists",
                   "email_domain")
COUNTING = ("min_count", "max_count", "distinct", "per_occurrence", "nth")



def parse_duration(value: str | None) -> timedelta | None:
    """``"14d"``, ``"2w"``, ``"36h"`` (or ``"14 days"``) → timedelta; None stays None."""
    if value is None:
        return None
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(
            f"{value!r} is not a duration; fix: write a number with a unit: 14d, 2w or 36h"
        )
    amount, unit = int(match.group(1)), match.group(2)[0].lower()
    if amount <= 0:
        raise ValueError("a duration must be positive; fix: e.g. 14d")
    return timedelta(seconds=amount * _UNIT_SECONDS[unit])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Range(_Strict):
    min: int = -30
    max: int = 100

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError("range.min must be below range.max; "
                             "fix: e.g. range: {min: -30, max: 100}")
        return self


class Tier(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1)
    # The lowest score of the tier; the first tier starts at the range's minimum.
    from_score: int | None = Field(default=None, alias="from")


class Decay(_Strict):
    """Inactivity decay: ``points`` per full ``every`` without activity.

    ``applies_to: behaviour`` (the default) takes away only points earned by behaviour and
    stops at ``min_total`` (default 0): a quiet lead cools down but is never unsubscribed
    for being quiet. ``applies_to: total`` decays the whole score (fit included) down to
    ``min_total`` (default the range minimum), so a quiet contact ends at the floor and is
    unsubscribed (article 000's list hygiene).
    """

    points: int = Field(-10, lt=0)
    every: str = "14d"
    applies_to: Literal["behaviour", "total"] = "behaviour"
    min_total: int | None = None

    @field_validator("every", mode="before")
    @classmethod
    def _duration(cls, value: object) -> str:
        parse_duration(str(value))
        return str(value)

    @field_validator("applies_to", mode="before")
    @classmethod
    def _spelling(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() == "behavior":
            return "behaviour"  # American spelling: same meaning
        return value

    def stops_at(self, range_min: int) -> int:
        """The lowest total decay may bring a contact to."""
        if self.min_total is not None:
            return self.min_total
        return range_min if self.applies_to == "total" else 0


class Rule(_Strict):
    """One scoring rule. Exactly one of ``field`` / ``event`` is set."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    points: int
    topic: str | None = None
    group: str | None = None
    # field condition
    field: str | None = None
    equals: str | int | float | bool | None = None
    one_of: list[str | int | float] | None = None
    contains: str | None = None
    regex: str | None = None
    min: float | None = None
    max: float | None = None
    exists: bool | None = None
    email_domain: list[str] | None = None
    # event condition
    event: str | None = None
    url: str | None = None
    url_regex: str | None = None
    name: str | None = None
    within: str | None = None
    expires_after: str | None = None
    min_count: int | None = Field(default=None, ge=1)
    max_count: int | None = Field(default=None, ge=1)
    distinct: Literal["email_id", "url", "name"] | None = None
    per_occurrence: bool | None = None
    max_points: int | None = None
    nth: int | None = Field(default=None, ge=2)
    inactive_for: str | None = None

    @field_validator("topic", "group", "field", "contains", "regex", "event", "url",
                     "url_regex", "name", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # "" means "not set", as an empty spreadsheet cell does (keeps exports lossless)
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("regex", "url_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"regular expression does not compile: {exc}") from None
        return value

    @field_validator("within", "expires_after", "inactive_for", mode="before")
    @classmethod
    def _duration(cls, value: object) -> str | None:
        if value is None:
            return None
        parse_duration(str(value))
        return str(value)

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if (self.field is None) == (self.event is None):
            raise ValueError("a rule needs exactly one of 'field' (fit data) or 'event' "
                             "(behaviour); fix: add field: NAME or event: TYPE, not both")
        if self.field is not None:
            self._check_field_rule()
        else:
            self._check_event_rule()
        if self.points == 0:
            raise ValueError("points must not be 0; fix: give the rule points, or delete it")
        return self

    def _check_field_rule(self) -> None:
        used = [op for op in FIELD_OPERATORS if getattr(self, op) is not None]
        if not used:
            raise ValueError("a field rule needs one condition; fix: add one of "
                             + ", ".join(FIELD_OPERATORS))
        if len(used) > 1 and set(used) != {"min", "max"}:
            raise ValueError(f"a field rule takes one condition, got {', '.join(used)}; fix: keep "
                             "one (only min and max go together, as a range)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max; fix: swap min and max")
        stray = [k for k in ("url", "url_regex", "name", "within", "expires_after", *COUNTING,
                             "max_points", "inactive_for") if getattr(self, k) is not None]
        if stray:
            raise ValueError(f"{', '.join(stray)} only apply to event rules; fix: remove them")

    def _check_event_rule(self) -> None:
        stray = [op for op in FIELD_OPERATORS if getattr(self, op) is not None]
        if stray:
            raise ValueError(f"{', '.join(stray)} only apply to field rules; fix: remove them")
        if self.url is not None and self.url_regex is not None:
            raise ValueError("url and url_regex both given; fix: keep url (a glob) or url_regex")
        modes = [m for m in ("per_occurrence", "nth") if getattr(self, m)]
        if len(modes) > 1:
            raise ValueError(f"two ways of counting ({', '.join(modes)}); fix: keep one")
        if self.max_points is not None and not self.per_occurrence:
            raise ValueError("max_points caps per_occurrence rules; fix: add per_occurrence: true")
        if self.per_occurrence and self.max_points is not None:
            if (self.max_points > 0) != (self.points > 0):
                raise ValueError("max_points and points differ in sign; "
                                 "fix: give both the same sign")
            if abs(self.max_points) < abs(self.points):
                raise ValueError("max_points is smaller than one occurrence's points; "
                                 "fix: raise max_points")
        if self.nth is not None and (self.min_count or self.max_count):
            raise ValueError("nth cannot be combined with min_count / max_count; "
                             "fix: keep nth or the counts")
        if self.per_occurrence and (self.min_count or self.max_count):
            raise ValueError("per_occurrence cannot be combined with min_count / max_count; "
                             "fix: keep one")
        if (self.min_count and self.max_count and self.min_count > self.max_count):
            raise ValueError("min_count exceeds max_count; fix: swap them")

    @property
    def kind(self) -> str:
        return "field" if self.field is not None else "event"


class RulesModel(_Strict):
    """A whole scoring model: range, tiers, warm threshold, decay and the rules."""

    version: Literal[1] = 1
    name: str = "default"
    description: str = ""
    range: Range = Range()
    warm_at: int = 30
    tiers: list[Tier] = Field(default_factory=lambda: [
        Tier(name="cold"), Tier(name="semi-warm", from_score=10),
        Tier(name="warm", from_score=30), Tier(name="hot", from_score=60)])
    floor_action: Literal["unsubscribe", "none"] = "unsubscribe"
    decay: Decay | None = Decay()
    rules: list[Rule] = Field(min_length=1)
    _compiled: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> RulesModel:
        lo, hi = self.range.min, self.range.max
        given = self.model_fields_set
        if not lo < self.warm_at <= hi:
            where = ("warm_at",) if "warm_at" in given else ("range",)
            raise Misplaced(where, f"warm_at {self.warm_at}"
                             f"{'' if 'warm_at' in given else ' (the default)'} is outside "
                             f"the range ({lo}..{hi}]; fix: set warm_at to a score above "
                             f"{lo} and at most {hi}")
        self._check_tiers(lo, hi, "tiers" in given)
        seen: dict[str, int] = {}
        for i, rule in enumerate(self.rules):
            if rule.id in seen:
                raise Misplaced(("rules", i, "id"), f"rule id {rule.id!r} is used twice "
                                 f"(rule {seen[rule.id] + 1} and rule {i + 1} of the list); "
                                 "fix: rename one of them")
            seen[rule.id] = i
        return self

    def _check_tiers(self, lo: int, hi: int, given: bool) -> None:
        def at(i: int, key: str) -> tuple:
            return ("tiers", i, key) if given else ("range",)

        default = "" if given else " (default tiers)"
        if not self.tiers:
            raise Misplaced(("tiers",), "no tiers; fix: give at least one tier")
        if self.tiers[0].from_score not in (None, lo):
            raise Misplaced(at(0, "from"), f"the first tier {self.tiers[0].name!r} starts at "
                             f"the range minimum ({lo}); fix: leave its 'from' out")
        previous = (lo, "range.min")
        for i, tier in enumerate(self.tiers[1:], start=1):
            if tier.from_score is None:
                raise Misplaced(at(i, "from"), f"tier {tier.name!r} has no 'from'; fix: "
                                 "give every tier after the first its lowest score, "
                                 f"e.g. from: {previous[0] + 10}")
            if tier.from_score <= previous[0]:
                raise Misplaced(at(i, "from"), f"tier {tier.name!r}{default} starts at "
                                 f"{tier.from_score}, not above {previous[1]} "
                                 f"({previous[0]}); fix: order tiers from cold to hot, each "
                                 "'from' higher than the one before")
            if tier.from_score > hi:
                raise Misplaced(at(i, "from"), f"tier {tier.name!r}{default} starts at "
                                 f"{tier.from_score}, above range.max ({hi}); fix: lower its "
                                 "'from' or raise range.max")
            previous = (tier.from_score, f"tier {tier.name!r}")
        names = [t.name for t in self.tiers]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise Misplaced(at(i, "name"), f"tier name {name!r} is used twice; fix: "
                                 "give each tier its own name")

    def __eq__(self, other: object) -> bool:
        # the compiled matchers are a cache, not part of the model
        if not isinstance(other, RulesModel):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(self.model_dump_json())

    @property
    def min_score(self) -> int:
        return self.range.min

    @property
    def max_score(self) -> int:
        return self.range.max

    def tier_for(self, total: int) -> str:
        name = self.tiers[0].name
        for tier in self.tiers[1:]:
            if total >= (tier.from_score or 0):
                name = tier.name
        return name

    def required_fields(self) -> list[str]:
        """Contact fields the rules read (adapters must pull them)."""
        out = {r.field for r in self.rules if r.field}
        if any(r.email_domain for r in self.rules):
            out.add("email")
        return sorted(out)

    def to_yaml_dict(self) -> dict[str, Any]:
        """A plain dict that dumps to an equivalent YAML file (defaults left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True,
                               exclude_defaults=False)
