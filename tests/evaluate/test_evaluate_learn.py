"""Learned weights: a real gain where the rules miss the truth, no invented gain where
the rules are the truth, and an ordinary rules file as the result."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import yaml

from connector.evaluate import dataset as ds
from connector.evaluate.learn import learn
from connector.sandbox.population import Population
from connector.scoring import load_rules, load_rules_text, score

from ..e2e.helpers import RULES

MODEL = load_rules(RULES)
DATA_NOW = Population(1).now


def backtest(population: Population) -> ds.Dataset:
    people = [(p.contact, p.events) for p in population]
    end = ds.data_end(people)
    return ds.build(people, end - timedelta(days=30), end)


def rules_are_the_truth(contact, events) -> float:
    total = score(contact, events, MODEL, DATA_NOW).total
    return 1.0 / (1.0 + math.exp(-(total - 35) / 6))


@pytest.fixture(scope="module")
def hidden():
    return learn(MODEL, backtest(Population(5000, seed=11)))


@pytest.fixture(scope="module")
def truthful():
    return learn(MODEL, backtest(Population(5000, seed=11, truth=rules_are_the_truth)))


def test_learned_model_beats_the_default_where_the_truth_is_hidden(hidden):
    print(f"\nsandbox population (hidden propensity): held-out AUC default "
          f"{hidden.auc_current:.3f}, learned {hidden.auc_learned:.3f} "
          f"(logistic {hidden.auc_logistic:.3f}); {hidden.verdict()}")
    assert hidden.auc_learned > hidden.auc_current
    assert hidden.claims_gain and hidden.gain_low > 0
    assert "ranks buyers better" in hidden.verdict()
    # what the hidden propensity weighs most is what the learned rules weigh up
    learned = {r.id: r.points for r in hidden.model.rules}
    current = {r.id: r.points for r in MODEL.rules}
    assert learned["pricing-page"] > current["pricing-page"]
    assert learned["contact-page"] < current["contact-page"]


def test_no_gain_is_claimed_where_the_default_rules_are_the_truth(truthful):
    print(f"\npopulation scored by the default rules: held-out AUC default "
          f"{truthful.auc_current:.3f}, learned {truthful.auc_learned:.3f}; "
          f"{truthful.verdict()}")
    assert not truthful.claims_gain
    assert "no reliable gain" in truthful.verdict()
    assert "keep the current model" in truthful.verdict()


def test_learned_model_is_an_ordinary_rules_file(hidden, tmp_path):
    model = hidden.model
    assert model.range == MODEL.range and model.decay == MODEL.decay
    assert model.range.min < model.warm_at <= model.range.max
    assert [t.name for t in model.tiers][:3] == ["cold", "semi-warm", "warm"]
    assert all(r.points != 0 and r.group is None for r in model.rules)
    assert {r.id for r in model.rules} | set(hidden.dropped) == {r.id for r in MODEL.rules}
    text = yaml.safe_dump(model.to_yaml_dict(), sort_keys=False)
    assert load_rules_text(text) == model
