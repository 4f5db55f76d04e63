"""The articles' scenarios with the shipped default model (issue 3's Must show)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.models import Contact, TransitionKind
from connector.scoring import score, transitions

from .scenarios import story_000, story_002

T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)
QUIET = Contact(id="c1", email=None)


def points(result):
    return {hit.rule_id: hit.points for hit in result.explanation}


def test_002_hubspot_scenario_scores_40_and_is_warm(default_model):
    result = score(QUIET, story_002("c1", T0), default_model, T0)
    assert points(result) == {"guide-download": 5, "second-guide": 10, "four-opens": 5,
                              "clicks-in-three-emails": 5, "blog-reader": 15}
    assert result.total == 40
    assert result.warm and result.tier == "warm"


def test_000_scenario_is_warm_at_exactly_30(default_model):
    result = score(QUIET, story_000("c1", T0), default_model, T0)
    assert points(result) == {"contact-page": 10, "service-page": 10, "front-page": 3,
                              "newsletter-open": 7}
    assert result.total == 30 and result.warm


def test_000_decays_by_20_in_28_quiet_days_and_announces_each_step(default_model):
    events = story_000("c1", T0)
    day0 = score(QUIET, events, default_model, T0)
    assert day0.next_change_at == T0 + timedelta(days=14)
    just_before = score(QUIET, events, default_model, day0.next_change_at - timedelta(seconds=1))
    assert just_before.total == 30
    day14 = score(QUIET, events, default_model, day0.next_change_at)
    assert day14.total == 20 and not day14.warm
    assert day14.next_change_at == T0 + timedelta(days=28)
    day28 = score(QUIET, events, default_model, T0 + timedelta(days=28))
    assert day28.total == 10 and not day28.warm and day28.tier == "semi-warm"
    assert points(day28)["inactivity-decay"] == -20


def test_decay_stops_at_zero_so_quiet_leads_are_not_unsubscribed(default_model):
    events = story_000("c1", T0)
    much_later = score(QUIET, events, default_model, T0 + timedelta(days=400))
    assert much_later.total == 0 and not much_later.at_floor
    assert much_later.next_change_at is None


def test_warm_up_cool_down_warm_up_counts_episodes(default_model):
    events = story_000("c1", T0)
    first, state = transitions(None, score(QUIET, events, default_model, T0), default_model)
    assert [t.kind for t in first] == [TransitionKind.BECAME_WARM]
    assert first[0].warm_episode == 1
    again, state = transitions(state, score(QUIET, events, default_model, T0), default_model)
    assert again == []
    cooled, state = transitions(
        state, score(QUIET, events, default_model, T0 + timedelta(days=28)), default_model)
    assert {t.kind for t in cooled} == {TransitionKind.LEFT_WARM, TransitionKind.TIER_CHANGED}
    later = T0 + timedelta(days=29)
    rewarmed = score(QUIET, events + story_000("c1b", later), default_model, later)
    warm_again, state = transitions(state, rewarmed, default_model)
    assert TransitionKind.BECAME_WARM in {t.kind for t in warm_again}
    assert state.warm_episode == 2


def test_competitor_hits_the_floor(default_model):
    competitor = Contact(id="x", email="spy@rivalagency.com",
                         fields={"email": "spy@rivalagency.com", "job_title": "Recruiter"})
    result = score(competitor, [], default_model, T0)
    assert result.total == -30 and result.raw_total == -80 and result.at_floor
    changes, _ = transitions(None, result, default_model)
    assert TransitionKind.HIT_FLOOR in {t.kind for t in changes}
