"""How well a model's scores, taken at the split date, predicted who became a customer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.metrics import roc_auc_score

from connector.evaluate.dataset import Case
from connector.models import ScoreResult
from connector.scoring import RulesModel, score
from connector.scoring.engine import DECAY_RULE_ID

Objective = Literal["f1", "youden"]
OBJECTIVES: dict[str, str] = {
    "f1": "F1: the balance of precision (warm leads who buy) and recall (buyers flagged warm)",
    "youden": "Youden's J: share of buyers flagged minus share of non-buyers flagged",
}


@dataclass(frozen=True, slots=True)
class TierStat:
    name: str
    contacts: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.contacts if self.contacts else 0.0


@dataclass(frozen=True, slots=True)
class Threshold:
    """What flagging every contact scoring ``score`` or more as warm would have given."""

    score: int
    flagged: int
    precision: float
    recall: float
    objective: float


@dataclass(frozen=True, slots=True)
class RuleStat:
    rule_id: str
    description: str
    fired_customers: int
    fired_others: int
    customers: int
    others: int

    @property
    def share_customers(self) -> float:
        return self.fired_customers / self.customers if self.customers else 0.0

    @property
    def share_others(self) -> float:
        return self.fired_others / self.others if self.others else 0.0

    @property
    def separation(self) -> float:
        """How much more often the rule fires for buyers than for the rest."""
        return self.share_customers - self.share_others

    @property
    def fired(self) -> int:
        return self.fired_customers + self.fired_others


@dataclass
class ModelReport:
    """One model measured on one backtest."""

    name: str
    model: RulesModel
    results: list[ScoreResult]
    labels: np.ndarray
    scores: np.ndarray
    auc: float | None
    tiers: list[TierStat]
    top_decile_lift: float | None
    at_warm: Threshold
    best: Threshold
    objective: str
    rules: list[RuleStat]

    @property
    def never_fired(self) -> list[RuleStat]:
        return [r for r in self.rules if r.fired == 0]


def score_cases(model: RulesModel, cases: Sequence[Case], as_of) -> list[ScoreResult]:
    return [score(c.contact, c.events, model, as_of) for c in cases]


def evaluate_model(model: RulesModel, cases: Sequence[Case], as_of, *, name: str,
                   objective: Objective = "f1") -> ModelReport:
    """Score every case as of ``as_of`` and measure the scores against the outcomes."""
    results = score_cases(model, cases, as_of)
    labels = np.array([c.converted for c in cases], dtype=bool)
    scores = np.array([r.total for r in results], dtype=float)
    return ModelReport(
        name=name, model=model, results=results, labels=labels, scores=scores,
        auc=auc(scores, labels),
        tiers=tier_stats(model, results, labels),
        top_decile_lift=top_decile_lift(scores, labels),
        at_warm=threshold_at(scores, labels, model.warm_at, objective),
        best=best_threshold(scores, labels, objective),
        objective=objective,
        rules=rule_stats(model, results, labels),
    )


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve; None when the outcomes are all one class."""
    if labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores))


def tier_stats(model: RulesModel, results: Sequence[ScoreResult],
               labels: np.ndarray) -> list[TierStat]:
    counts = {t.name: [0, 0] for t in model.tiers}
    for result, label in zip(results, labels, strict=True):
        bucket = counts[model.tier_for(result.total)]
        bucket[0] += 1
        bucket[1] += int(label)
    return [TierStat(name, n, k) for name, (n, k) in counts.items()]


def top_decile_lift(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Conversion in the top 10 % by score over the overall conversion. Contacts tied at
    the cut-off count in proportion, so ties neither flatter nor punish a model."""
    n = len(scores)
    base = labels.mean() if n else 0.0
    if n < 10 or base == 0:
        return None
    k = n / 10
    cut = np.sort(scores)[::-1][int(np.ceil(k)) - 1]
    above = scores > cut
    tied = scores == cut
    take = (k - above.sum()) / tied.sum()
    hits = labels[above].sum() + take * labels[tied].sum()
    return float(hits / k / base)


def threshold_at(scores: np.ndarray, labels: np.ndarray, at: float,
                 objective: Objective) -> Threshold:
    flagged = scores >= at
    tp = float((flagged & labels).sum())
    n_flag, n_pos, n_neg = float(flagged.sum()), float(labels.sum()), float((~labels).sum())
    precision = tp / n_flag if n_flag else 0.0
    recall = tp / n_pos if n_pos else 0.0
    if objective == "youden":
        fpr = (n_flag - tp) / n_neg if n_neg else 0.0
        value = recall - fpr
    else:
        value = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Threshold(score=int(at), flagged=int(n_flag), precision=precision, recall=recall,
                     objective=value)


def best_threshold(scores: np.ndarray, labels: np.ndarray,
                   objective: Objective) -> Threshold:
    """The warm threshold that would have maximised ``objective`` (the lowest on ties)."""
    candidates = sorted({int(s) for s in scores}) or [0]
    best: Threshold | None = None
    for at in candidates:
        t = threshold_at(scores, labels, at, objective)
        if best is None or t.objective > best.objective + 1e-12:
            best = t
    assert best is not None
    return best


def rule_stats(model: RulesModel, results: Sequence[ScoreResult],
               labels: np.ndarray) -> list[RuleStat]:
    """Per rule: how often it fired for buyers and for the rest, best separators first."""
    customers = int(labels.sum())
    others = len(labels) - customers
    fired: dict[str, list[int]] = {r.id: [0, 0] for r in model.rules}
    if model.decay is not None:
        fired[DECAY_RULE_ID] = [0, 0]
    for result, label in zip(results, labels, strict=True):
        for hit in result.explanation:
            if hit.rule_id in fired:
                fired[hit.rule_id][0 if label else 1] += 1
    described = {r.id: r.description or r.id for r in model.rules}
    described[DECAY_RULE_ID] = "Inactivity decay"
    stats = [RuleStat(rid, described[rid], c, o, customers, others)
             for rid, (c, o) in fired.items()]
    stats.sort(key=lambda s: (-s.separation, s.rule_id))
    return stats
