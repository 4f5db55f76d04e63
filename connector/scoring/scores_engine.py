"""Scoring a contact on a model of several scores: each score by the one-score engine
(:func:`connector.scoring.engine.score`), then the grid cell and the warm and floor
conditions. Pure, like the engine: no I/O, ``now`` passed in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from connector.models import Contact, Event, RuleHit, ScoreResult
from connector.scoring.engine import score
from connector.scoring.scores import ScoringModel


class ModelResult(NamedTuple):
    """Every score of one contact at one moment, the grid cell and the conditions' values.

    ``scores`` maps each score's name to its :class:`ScoreResult` (its own total, tier,
    explanation and ``next_change_at``), in the model's order; in each of them ``warm`` and
    ``at_floor`` are the contact's (``warm_when``, the floor condition). For a one-score
    file the only score is named ``score`` and its result is exactly what
    :func:`~connector.scoring.engine.score` returns, and so are ``total``, ``tier``,
    ``explanation``, ... here (they read the first score). ``next_change_at`` is the
    earliest of the scores': conditions and the cell change only when a score does.
    """

    contact_id: str
    scores: Mapping[str, ScoreResult]
    cell: str | None
    warm: bool
    at_floor: bool
    next_change_at: datetime | None
    scored_at: datetime

    @property
    def primary(self) -> ScoreResult:
        """The first score's result: a one-score file's result as today."""
        return next(iter(self.scores.values()))

    @property
    def total(self) -> int:
        return self.primary.total

    @property
    def raw_total(self) -> int:
        return self.primary.raw_total

    @property
    def tier(self) -> str:
        return self.primary.tier

    @property
    def interests(self) -> Mapping[str, int]:
        return self.primary.interests

    @property
    def explanation(self) -> tuple[RuleHit, ...]:
        return self.primary.explanation


def score_model(contact: Contact, events: Sequence[Event], model: ScoringModel,
                now: datetime) -> ModelResult:
    """Score one contact at ``now`` on every score of ``model``."""
    if model.single is not None:  # today's format: today's result, untouched
        one = score(contact, events, model.single, now)
        return ModelResult(contact.id, {name: one for name in model.scores}, None, one.warm,
                           one.at_floor, one.next_change_at, now)
    results = {name: score(contact, events, rules, now) for name, rules in model.scores.items()}
    totals = {name: r.total for name, r in results.items()}
    cell = (model.grid.cell({name: r.tier for name, r in results.items()})
            if model.grid is not None else None)
    warm = model.warm_test(totals, cell)
    at_floor = model.floor_test(totals, cell) if model.floor_test is not None else False
    scores = {name: r._replace(warm=warm, at_floor=at_floor) for name, r in results.items()}
    changes = [r.next_change_at for r in results.values() if r.next_change_at is not None]
    return ModelResult(contact.id, scores, cell, warm, at_floor,
                       min(changes) if changes else None, now)
