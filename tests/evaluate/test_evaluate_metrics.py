"""The backtest's arithmetic: who counts, and what the numbers mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from connector.errors import ConfigError
from connector.evaluate import dataset as ds
from connector.evaluate.metrics import (
    auc,
    best_threshold,
    evaluate_model,
    threshold_at,
    top_decile_lift,
)
from connector.models import Contact, Event
from connector.scoring import load_rules_text

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SPLIT = NOW - timedelta(days=30)

MODEL = load_rules_text("""
range: {min: 0, max: 50}
warm_at: 20
tiers: [{name: cold}, {name: warm, from: 20}]
decay: null
rules:
  - {id: pricing, event: page_view, url: "*/pricing", points: 20}
  - {id: senior, field: job_title, equals: CEO, points: 10}
  - {id: webinar, event: form_submission, name: "*webinar*", points: 5}
""")


def person(cid: str, *, title: str = "Dev", pricing: bool = False, bought: datetime | None = None,
           created: datetime = SPLIT - timedelta(days=60)) -> tuple[Contact, list[Event]]:
    contact = Contact(id=cid, email=f"{cid}@x.co", fields={"job_title": title},
                      created_at=created, is_customer=bought is not None, customer_at=bought)
    events = [Event(id=f"e{cid}", contact_id=cid, type="page_view",
                    occurred_at=SPLIT - timedelta(days=3), url="https://a.co/pricing")]
    return contact, events if pricing else []


def test_backtest_leaves_out_earlier_customers_and_later_contacts():
    people = [
        person("1", pricing=True, bought=SPLIT + timedelta(days=5)),   # converts: positive
        person("2", pricing=True, bought=SPLIT - timedelta(days=1)),   # already a customer
        person("3", created=SPLIT + timedelta(days=2)),                # did not exist yet
        person("4"),                                                   # never buys
        person("5", bought=NOW + timedelta(days=9)),                   # buys after the end
    ]
    data = ds.build(people, SPLIT, NOW)
    assert [c.contact.id for c in data.cases] == ["1", "4", "5"]
    assert [c.converted for c in data.cases] == [True, False, False]
    assert data.left_out == {"customer before the split": 1, "created after the split": 1}


def test_split_must_come_before_the_end_of_the_data():
    with pytest.raises(ConfigError, match="--as-of"):
        ds.build([person("1")], NOW, NOW)


def test_scores_are_taken_at_the_split_not_today():
    contact, _ = person("1", bought=SPLIT + timedelta(days=5))
    late = Event(id="late", contact_id="1", type="page_view",
                 occurred_at=SPLIT + timedelta(days=1), url="https://a.co/pricing")
    data = ds.build([(contact, [late]), person("2")], SPLIT, NOW)
    report = evaluate_model(MODEL, data.cases, data.as_of, name="m")
    assert list(report.scores) == [0, 0]  # the pricing visit came after the split


def test_conversion_per_tier_auc_lift_and_precision_recall():
    people = ([person(f"w{i}", pricing=True, bought=SPLIT + timedelta(days=1)) for i in range(6)]
              + [person(f"x{i}", pricing=True) for i in range(4)]
              + [person(f"c{i}", bought=SPLIT + timedelta(days=2)) for i in range(2)]
              + [person(f"n{i}") for i in range(28)])
    data = ds.build(people, SPLIT, NOW)
    report = evaluate_model(MODEL, data.cases, data.as_of, name="m")
    tiers = {t.name: (t.contacts, t.converted) for t in report.tiers}
    assert tiers == {"cold": (30, 2), "warm": (10, 6)}
    assert report.at_warm.flagged == 10
    assert report.at_warm.precision == pytest.approx(0.6)
    assert report.at_warm.recall == pytest.approx(0.75)
    # 8 buyers: 6 score 20, 2 score 0; 32 others: 4 score 20, 28 score 0
    expected_auc = (6 * 28 + 0.5 * (6 * 4 + 2 * 28)) / (8 * 32)
    assert report.auc == pytest.approx(expected_auc)
    # top 10 % = 4 of the 10 tied at 20, who convert at 60 %; base rate 20 %
    assert report.top_decile_lift == pytest.approx(3.0)
    never = [s.rule_id for s in report.never_fired]
    assert never == ["senior", "webinar"]
    assert report.rules[0].rule_id == "pricing" and report.rules[0].separation > 0.5


def test_best_threshold_maximises_the_objective():
    scores = np.array([0, 5, 10, 15, 20, 25, 30, 35], dtype=float)
    labels = np.array([0, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    best = best_threshold(scores, labels, "f1")
    assert best.score == 15 and best.recall == 1.0 and best.precision == 0.8
    assert best.objective > threshold_at(scores, labels, 30, "f1").objective
    youden = best_threshold(scores, labels, "youden")
    assert youden.score == 15  # J = 0.75 at 15 and at 25: ties go to the lower threshold


def test_degenerate_outcomes_give_no_auc_or_lift():
    scores = np.array([1.0, 2.0, 3.0] * 5)
    assert auc(scores, np.zeros(15, dtype=bool)) is None
    assert top_decile_lift(scores, np.zeros(15, dtype=bool)) is None
