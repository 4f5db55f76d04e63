"""A model of several named scores (e.g. ``fit`` and ``engagement``), an optional grid of
two of them, and the conditions that make a contact warm or put it at the floor.

A rules file in today's format (one ``rules:`` list) is ONE score:
:meth:`ScoringModel.from_rules` wraps it unchanged, its ``warm_at`` and floor keep their
meaning (``{score: score, at_least: WARM_AT}`` and ``{score: score, at_floor: true}``).
A file with ``scores:`` is validated by :class:`ScoresFile`. See docs/rules.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from connector.scoring.conditions import Condition, Test, check, compile_condition
from connector.scoring.grid import Grid, property_name
from connector.scoring.rules import Decay, Range, Rule, RulesModel, Tier, _Strict
from connector.scoring.rules_errors import Misplaced, error_loc, fix_for

SINGLE = "score"  # the one score of a file in today's format, as conditions name it
SCORE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PER_SCORE = ("rules", "range", "tiers", "decay")
# a score without tiers: the tiers of a one-score model (cold, semi-warm, warm, hot)
_DEFAULT_TIERS: list[Tier] = RulesModel.model_fields["tiers"].get_default(
    call_default_factory=True)


class ScoreSpec(_Strict):
    """One named score: its own rules, range, tiers, decay and CRM property."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              populate_by_name=True)

    description: str = ""
    property_name: str | None = Field(None, alias="property")
    range: Range = Range()
    tiers: list[Tier] = Field(default_factory=lambda: list(_DEFAULT_TIERS))
    decay: Decay | None = Decay()
    rules: list[Rule] = Field(min_length=1)
    _model: RulesModel | None = PrivateAttr(default=None)

    @field_validator("property_name")
    @classmethod
    def _property(cls, value: str | None) -> str | None:
        return None if value is None else property_name(value)

    @model_validator(mode="after")
    def _as_rules_model(self) -> ScoreSpec:
        # the score is scored as a one-score model: the same checks of tiers and rule ids
        keys = self.model_fields_set & {"range", "tiers", "decay", "rules"}
        data: dict[str, Any] = {k: getattr(self, k) for k in keys}
        data.update(description=self.description, warm_at=self.range.max,
                    floor_action="none")
        try:
            self._model = RulesModel.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = error_loc(err)
            message = err.get("msg", "invalid").removeprefix("Value error, ")
            if "; fix: " not in message:
                message = f"{message}; fix: {fix_for(err, loc)}"
            raise Misplaced(loc, message) from None
        return self

    @property
    def model(self) -> RulesModel:
        assert self._model is not None  # set by validation
        return self._model


class ScoresFile(_Strict):
    """A rules file with ``scores:``: named scores, a grid, warm and floor conditions."""

    version: Literal[1] = 1
    name: str = "default"
    description: str = ""
    scores: dict[str, ScoreSpec] = Field(min_length=1)
    grid: Grid | None = None
    warm_when: Condition
    floor_when: Condition | None = None
    floor_action: Literal["unsubscribe", "none"] = "unsubscribe"

    @model_validator(mode="before")
    @classmethod
    def _nothing_of_one_score(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "warm_at" in data:
                raise Misplaced(("warm_at",), "with scores:, warm_at is a condition; fix: "
                                "write warm_when: {score: NAME, at_least: N}")
            for key in _PER_SCORE:
                if key in data:
                    raise Misplaced((key,), f"with scores:, each score has its own {key}; "
                                    f"fix: move {key}: under scores.NAME")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ScoresFile:
        models = {name: spec.model for name, spec in self.scores.items()}
        owner: dict[str, str] = {}
        for name, spec in self.scores.items():
            if not SCORE_NAME.match(name):
                raise Misplaced(("scores", name), f"score name {name!r} is not usable in "
                                "conditions and properties; fix: use lower-case letters, "
                                "digits and '_', starting with a letter, e.g. fit")
            for i, rule in enumerate(spec.rules):
                if rule.id in owner:
                    raise Misplaced(("scores", name, "rules", i, "id"),
                                    f"rule id {rule.id!r} is used twice (in score "
                                    f"{owner[rule.id]!r} and score {name!r}); fix: rename "
                                    "one of them (explanations name rules by id)")
                owner[rule.id] = name
        self._check_properties()
        cells = self.grid.check(models) if self.grid is not None else None
        check(self.warm_when, models, cells, ("warm_when",))
        if self.floor_when is not None:
            check(self.floor_when, models, cells, ("floor_when",))
        elif "floor_action" in self.model_fields_set and self.floor_action != "none":
            raise Misplaced(("floor_action",), f"floor_action {self.floor_action} needs a "
                            "floor; fix: add floor_when: {score: NAME, at_floor: true}, "
                            "or floor_action: none")
        return self

    def _check_properties(self) -> None:
        seen: dict[str, str] = {}
        places: list[tuple[tuple, str, str]] = [
            (("scores", n, "property"), f"score {n!r}", property_of(n, s))
            for n, s in self.scores.items()]
        if self.grid is not None:
            places.append((("grid", "property"), "the grid", self.grid.property_name))
        for loc, who, prop in places:
            if prop in seen:
                raise Misplaced(loc, f"{who} writes to property {prop!r}, as {seen[prop]} "
                                "does; fix: give each score and the grid its own property")
            seen[prop] = who


def property_of(name: str, spec: ScoreSpec) -> str:
    """The CRM property a named score is written to (``connector_NAME_score`` unless set)."""
    return spec.property_name or f"connector_{name}_score"


@dataclass(frozen=True)
class ScoringModel:
    """What the engine scores: every score (name -> its one-score model, in file order), the
    property each is written to (None: the client's ``score_property``, for a one-score
    file), the grid, and the warm and floor conditions."""

    name: str
    description: str
    scores: Mapping[str, RulesModel]
    properties: Mapping[str, str | None]
    warm_when: Condition
    floor_when: Condition | None
    floor_action: str
    grid: Grid | None = None
    grid_property: str | None = None
    single: RulesModel | None = None  # the file's model, when it is today's one-score format
    warm_test: Test = field(init=False, compare=False, repr=False)
    floor_test: Test | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "warm_test", compile_condition(self.warm_when, self.scores))
        floor = (compile_condition(self.floor_when, self.scores)
                 if self.floor_when is not None else None)
        object.__setattr__(self, "floor_test", floor)

    @classmethod
    def from_rules(cls, model: RulesModel) -> ScoringModel:
        """A file in today's format: one score, warm at ``warm_at``, floor at range.min."""
        return cls(name=model.name, description=model.description, scores={SINGLE: model},
                   properties={SINGLE: None},
                   warm_when=Condition(score=SINGLE, at_least=model.warm_at),
                   floor_when=Condition(score=SINGLE, at_floor=True),
                   floor_action=model.floor_action, single=model)

    @classmethod
    def from_file(cls, data: ScoresFile) -> ScoringModel:
        return cls(name=data.name, description=data.description,
                   scores={n: s.model.model_copy(update={"name": n})
                           for n, s in data.scores.items()},
                   properties={n: property_of(n, s) for n, s in data.scores.items()},
                   warm_when=data.warm_when, floor_when=data.floor_when,
                   floor_action=data.floor_action if data.floor_when else "none",
                   grid=data.grid, grid_property=data.grid.property_name if data.grid else None)

    def required_fields(self) -> list[str]:
        """Contact fields the rules of every score read (adapters must pull them)."""
        return sorted({f for model in self.scores.values() for f in model.required_fields()})
