"""Conditions over a contact's scores and grid cell: when a contact is warm (``warm_when``)
and when it is at the floor (``floor_when``).

A condition is one small YAML mapping, so a marketer reads it and the check can point at
its line::

    {score: fit, at_least: B}           # the score is in tier B or above (a tier name)
    {score: engagement, at_least: 30}   # the score is 30 or more (a number)
    {score: engagement, below: 10}      # the score is under 10 (or under a tier)
    {score: fit, at_floor: true}        # the score is at its range minimum
    {grid: [A1, A2, B1]}                # the grid cell is one of these
    {all: [COND, ...]}                  # every one holds
    {any: [COND, ...]}                  # at least one holds

A tier name stands for the tier's lowest score, so ``at_least: B`` is ``at_least`` the
``from`` of tier B. The names a condition uses are checked against the model by
:func:`check`, which says where a wrong one is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connector.scoring.rules import RulesModel
from connector.scoring.rules_errors import Misplaced

COMPARISONS = ("at_least", "below", "at_floor")
# what a condition is given: each score's total, and the grid cell (None without a grid)
Test = Callable[[Mapping[str, int], str | None], bool]


class Condition(BaseModel):
    """One condition: a score comparison, a grid test, or ``all`` / ``any`` of conditions."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              populate_by_name=True)

    score: str | None = None
    at_least: int | str | None = None
    below: int | str | None = None
    at_floor: bool | None = None
    grid: list[str] | None = Field(default=None, min_length=1)
    all_of: list[Condition] | None = Field(default=None, alias="all", min_length=1)
    any_of: list[Condition] | None = Field(default=None, alias="any", min_length=1)

    @field_validator("at_least", "below", mode="before")
    @classmethod
    def _points_or_tier(cls, value: object) -> object:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int | str | None):
            raise ValueError(f"{value!r} is neither a whole number of points nor a tier name; "
                             "fix: e.g. at_least: 30 or at_least: B")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = [name for name, given in (("score", self.score is not None),
                                          ("grid", self.grid is not None),
                                          ("all", self.all_of is not None),
                                          ("any", self.any_of is not None)) if given]
        compared = [c for c in COMPARISONS if getattr(self, c) is not None]
        if len(forms) != 1:
            raise ValueError(
                "a condition is one of {score: NAME, at_least: ...}, {grid: [CELLS]}, "
                f"{{all: [...]}} or {{any: [...]}}, got {', '.join(forms) or 'none of them'}; "
                "fix: keep one, and nest the others under all: or any:")
        if forms == ["score"] and len(compared) != 1:
            raise ValueError(
                f"a score condition takes one comparison, got {', '.join(compared) or 'none'}; "
                "fix: write at_least: N, below: N (a number or a tier name) or at_floor: true")
        if forms != ["score"] and compared:
            raise ValueError(f"{compared[0]} compares a score; fix: add score: NAME "
                             "in the same condition")
        if self.at_floor is False:
            raise ValueError("at_floor: false is not a condition; fix: write "
                             "below/at_least, or at_floor: true")
        return self


def check(cond: Condition, scores: Mapping[str, RulesModel], cells: frozenset[str] | None,
          at: tuple) -> None:
    """Raise :class:`Misplaced` (pointing at ``at`` + the key) when ``cond`` names a score,
    tier or grid cell the model does not have, or a number its score can never reach."""
    if cond.score is not None:
        model = scores.get(cond.score)
        if model is None:
            raise Misplaced((*at, "score"), f"no score named {cond.score!r}; fix: use one of "
                            + ", ".join(scores))
        for key in ("at_least", "below"):
            value = getattr(cond, key)
            if value is not None:
                _bound(model, cond.score, key, value, (*at, key))
    elif cond.grid is not None:
        if cells is None:
            raise Misplaced((*at, "grid"), "this model has no grid; fix: add a grid: section "
                            "or test the scores")
        for i, cell in enumerate(cond.grid):
            if cell not in cells:
                raise Misplaced((*at, "grid", i), f"no grid cell {cell!r}; fix: use cells "
                                f"of the grid, e.g. {', '.join(sorted(cells)[:4])}")
    else:
        key, parts = ("all", cond.all_of) if cond.all_of is not None else ("any", cond.any_of)
        for i, part in enumerate(parts or ()):
            check(part, scores, cells, (*at, key, i))


def _bound(model: RulesModel, score: str, key: str, value: int | str, at: tuple) -> int:
    """The number ``value`` (a number or a tier name of ``score``) stands for."""
    if isinstance(value, str):
        tiers = {t.name: t.from_score for t in model.tiers}
        if value not in tiers:
            raise Misplaced(at, f"score {score!r} has no tier {value!r}; fix: use one of "
                            + ", ".join(tiers) + " (or a number)")
        found = tiers[value]
        return model.range.min if found is None else found
    lo, hi = model.range.min, model.range.max
    if (key == "at_least" and value > hi) or (key == "below" and value <= lo):
        raise Misplaced(at, f"{key} {value} can never hold: score {score!r} runs from {lo} "
                        f"to {hi}; fix: give a number from {lo + 1} to {hi}")
    return value


def always_holds(cond: Condition, scores: Mapping[str, RulesModel]) -> bool:
    """True for a score comparison every score in its range passes (a lint warning)."""
    if cond.score is None or cond.at_floor:
        return False
    model = scores[cond.score]
    if cond.at_least is not None:
        return _bound(model, cond.score, "at_least", cond.at_least, ()) <= model.range.min
    assert cond.below is not None
    return _bound(model, cond.score, "below", cond.below, ()) > model.range.max


def walk(cond: Condition, at: tuple) -> Iterator[tuple[Condition, tuple]]:
    """Every condition in ``cond`` (itself first) with its place in the file."""
    yield cond, at
    for key, parts in (("all", cond.all_of), ("any", cond.any_of)):
        for i, part in enumerate(parts or ()):
            yield from walk(part, (*at, key, i))


def compile_condition(cond: Condition, scores: Mapping[str, RulesModel]) -> Test:
    """A function of (totals by score, grid cell) that says whether ``cond`` holds."""
    if cond.score is not None:
        name, model = cond.score, scores[cond.score]
        if cond.at_floor:
            floor = model.range.min
            return lambda totals, cell: totals[name] <= floor
        if cond.at_least is not None:
            low = _bound(model, name, "at_least", cond.at_least, ())
            return lambda totals, cell: totals[name] >= low
        high = _bound(model, name, "below", cond.below or 0, ())
        return lambda totals, cell: totals[name] < high
    if cond.grid is not None:
        cells = frozenset(cond.grid)
        return lambda totals, cell: cell in cells
    parts = [compile_condition(p, scores) for p in (cond.all_of or cond.any_of or ())]
    if cond.all_of is not None:
        return lambda totals, cell: all(p(totals, cell) for p in parts)
    return lambda totals, cell: any(p(totals, cell) for p in parts)


def describe(cond: Condition) -> str:
    """The condition in words, e.g. ``fit at least B and engagement at least 30``."""
    if cond.score is not None:
        if cond.at_floor:
            return f"{cond.score} at its floor"
        if cond.at_least is not None:
            return f"{cond.score} at least {cond.at_least}"
        return f"{cond.score} below {cond.below}"
    if cond.grid is not None:
        return "grid cell " + (cond.grid[0] if len(cond.grid) == 1
                               else "in " + ", ".join(cond.grid))
    joiner = " and " if cond.all_of is not None else " or "
    parts = cond.all_of or cond.any_of or []
    return joiner.join(describe(p) if p.score or p.grid else f"({describe(p)})"
                       for p in parts)


def condition_yaml(cond: Condition) -> dict[str, Any]:
    """The condition as the YAML mapping it was read from."""
    return cond.model_dump(mode="json", by_alias=True, exclude_none=True)
