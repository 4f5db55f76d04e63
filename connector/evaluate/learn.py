"""Learned weights: a regularised logistic regression on the rules' own conditions,
exported back as an ordinary rules file (same rules, new points) so it stays readable.

Features are what each rule would award, in units of the rule (1 when a threshold rule
fires, the number of occurrences for a per-occurrence rule), with exclusive groups and
decay switched off so every condition is seen on its own. The model is judged on contacts
held out from fitting, and a gain is only claimed when a paired bootstrap says it is real.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from connector.evaluate.dataset import Case, Dataset
from connector.evaluate.metrics import Objective, auc, best_threshold, score_cases
from connector.scoring import RulesModel
from connector.scoring.engine import score
from connector.scoring.rules_file import rules_yaml

BOOTSTRAP_ROUNDS = 400


@dataclass
class Learned:
    """The fitted weights, the exported model and the held-out comparison."""

    model: RulesModel
    coefficients: dict[str, float]
    dropped: list[str]
    train_size: int
    holdout_size: int
    holdout_positives: int
    auc_current: float | None
    auc_logistic: float | None
    auc_learned: float | None
    gain_low: float
    gain_high: float

    @property
    def gain(self) -> float | None:
        if self.auc_current is None or self.auc_learned is None:
            return None
        return self.auc_learned - self.auc_current

    @property
    def claims_gain(self) -> bool:
        """True only when the whole 95 % interval of the AUC gain is above zero."""
        return self.gain is not None and self.gain_low > 0

    def verdict(self) -> str:
        if self.gain is None:
            return "no verdict: the held-out contacts hold only one outcome"
        interval = f"95% interval {self.gain_low:+.3f}..{self.gain_high:+.3f}"
        if self.claims_gain:
            return (f"the learned model ranks buyers better: AUC +{self.gain:.3f} "
                    f"({interval}) on {self.holdout_size} held-out contacts")
        return (f"no reliable gain: AUC {self.gain:+.3f} ({interval}) on "
                f"{self.holdout_size} held-out contacts; keep the current model")


def flat(model: RulesModel) -> RulesModel:
    """The model with exclusive groups and decay off: every condition counts on its own."""
    data = yaml.safe_load(rules_yaml(model))
    data["decay"] = None
    data["rules"] = [{k: v for k, v in r.items() if k != "group"} for r in data["rules"]]
    return RulesModel.model_validate(data)


def features(model: RulesModel, cases: Sequence[Case], as_of) -> np.ndarray:
    """One row per case, one column per rule (in model order)."""
    flat_model = flat(model)
    column = {r.id: i for i, r in enumerate(model.rules)}
    unit = {r.id: r.points for r in model.rules}
    x = np.zeros((len(cases), len(model.rules)))
    for row, case in enumerate(cases):
        for hit in score(case.contact, case.events, flat_model, as_of).explanation:
            col = column.get(hit.rule_id)
            if col is not None:
                x[row, col] = hit.points / unit[hit.rule_id]
    return x


def learn(model: RulesModel, data: Dataset, *, objective: Objective = "f1",
          c: float = 1.0, seed: int = 0) -> Learned:
    """Fit on the training contacts, compare on the held-out ones."""
    train, test = data.split()
    y_train = np.array([k.converted for k in train], dtype=bool)
    y_test = np.array([k.converted for k in test], dtype=bool)
    if y_train.all() or not y_train.any():
        from connector.errors import ConfigError

        raise ConfigError(
            f"the training contacts hold {int(y_train.sum())} buyers of {len(train)}: "
            "nothing to learn from", field="--as-of",
            fix="move the split date (--as-of / --horizon) so that some contacts became "
                "customers after it, or wait for more outcomes")
    x_train = features(model, train, data.as_of)
    x_test = features(model, test, data.as_of)
    fit = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x_train, y_train)
    coef = fit.coef_[0]
    learned_model, dropped = export(model, coef, x_train, train, data.as_of, y_train,
                                    objective)
    current = np.array([r.total for r in score_cases(model, test, data.as_of)], dtype=float)
    learned_scores = np.array([r.total for r in score_cases(learned_model, test, data.as_of)],
                              dtype=float)
    low, high = _bootstrap_gain(current, learned_scores, y_test, seed)
    return Learned(
        model=learned_model,
        coefficients={r.id: float(w) for r, w in zip(model.rules, coef, strict=True)},
        dropped=dropped, train_size=len(train), holdout_size=len(test),
        holdout_positives=int(y_test.sum()),
        auc_current=auc(current, y_test),
        auc_logistic=auc(fit.decision_function(x_test), y_test) if len(test) else None,
        auc_learned=auc(learned_scores, y_test), gain_low=low, gain_high=high)


def export(model: RulesModel, coef: np.ndarray, x_train: np.ndarray, train: Sequence[Case],
           as_of, y_train: np.ndarray, objective: Objective,
           ) -> tuple[RulesModel, list[str]]:
    """The rules with points scaled so a top-1 % contact scores about 90 % of the range's
    maximum; the warm threshold is the one that maximised ``objective`` in training and
    the tiers keep their proportions to it. Rules whose points round to 0 are dropped."""
    lo, hi = model.range.min, model.range.max
    linear = x_train @ coef
    top = float(np.quantile(linear, 0.99)) if len(linear) else 0.0
    if top <= 0:
        top = float(np.abs(coef).max()) or 1.0
    scale = 0.9 * hi / top
    data: dict[str, Any] = yaml.safe_load(rules_yaml(model))
    rules, dropped = [], []
    for rule, raw, weight in zip(data["rules"], model.rules, coef, strict=True):
        points = int(np.clip(round(float(weight) * scale), lo, hi))
        if points == 0:
            dropped.append(rule["id"])
            continue
        new = {k: v for k, v in rule.items() if k != "group"}
        new["points"] = points
        if raw.max_points is not None:
            per_cap = max(1, round(raw.max_points / raw.points))
            new["max_points"] = points * per_cap
        new["description"] = (raw.description or raw.id)
        rules.append(new)
    if not rules:
        from connector.errors import ConfigError

        raise ConfigError("every learned weight rounds to 0 points", field="--learn",
                          fix="collect more outcomes; the data shows no usable signal yet")
    data["rules"] = rules
    data["name"] = f"{model.name}-learned"
    data["description"] = (f"Weights learned from outcomes up to {as_of:%Y-%m-%d} "
                           f"(logistic regression on the rules of {model.name!r}).")
    draft = RulesModel.model_validate(data)
    scores = np.array([r.total for r in score_cases(draft, train, as_of)], dtype=float)
    warm = best_threshold(scores, y_train, objective).score
    warm = int(np.clip(warm, lo + 1, hi))
    data["warm_at"] = warm
    data["tiers"] = _tiers(model, warm)
    return RulesModel.model_validate(data), dropped


def _tiers(model: RulesModel, warm: int) -> list[dict[str, Any]]:
    """The current tiers with their cut points moved in proportion to the warm threshold."""
    lo, hi = model.range.min, model.range.max
    ratio = warm / model.warm_at if model.warm_at else 1.0
    out: list[dict[str, Any]] = [{"name": model.tiers[0].name}]
    last = lo
    for tier in model.tiers[1:]:
        cut = warm if tier.from_score == model.warm_at else round((tier.from_score or 0) * ratio)
        cut = min(max(cut, last + 1), hi)
        if cut <= last:
            break
        out.append({"name": tier.name, "from": cut})
        last = cut
    return out


def _bootstrap_gain(current: np.ndarray, learned: np.ndarray, labels: np.ndarray,
                    seed: int) -> tuple[float, float]:
    """95 % interval of AUC(learned) - AUC(current), resampling held-out contacts."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    gains = []
    for _ in range(BOOTSTRAP_ROUNDS if n else 0):
        idx = rng.integers(0, n, n)
        a, b = auc(learned[idx], labels[idx]), auc(current[idx], labels[idx])
        if a is not None and b is not None:
            gains.append(a - b)
    if not gains:
        return 0.0, 0.0
    return float(np.quantile(gains, 0.025)), float(np.quantile(gains, 0.975))
