"""Several scores (issue 24): config/rules/fit-engagement.yaml scored by hand, and a file in
today's format scoring exactly as today through the new model and result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from connector.models import Contact, Event, EventType
from connector.scoring import score
from connector.scoring.compiled import compile_model
from connector.scoring.scores_engine import score_model
from connector.scoring.scores_file import load_model, model_warnings

from .conftest import DEFAULT_RULES
from .scenarios import SITE, story_000, story_002

FIT_ENGAGEMENT = Path(DEFAULT_RULES).parent / "fit-engagement.yaml"
T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def model():
    return load_model(FIT_ENGAGEMENT)


def person(cid: str, email: str | None = None, **fields) -> Contact:
    return Contact(id=cid, email=email, fields=fields)


def points(result) -> dict[str, int]:
    return {hit.rule_id: hit.points for hit in result.explanation}


def test_the_file_loads_with_two_scores_a_grid_and_its_properties(model):
    assert list(model.scores) == ["fit", "engagement"]
    assert model.properties == {"fit": "connector_fit_score",
                                "engagement": "connector_engagement_score"}
    assert model.grid_property == "connector_lead_grid"
    assert [t.name for t in model.scores["fit"].tiers] == ["D", "C", "B", "A"]
    assert [t.name for t in model.scores["engagement"].tiers] == ["4", "3", "2", "1"]
    assert model.floor_action == "unsubscribe"
    assert model_warnings(model, FIT_ENGAGEMENT, FIT_ENGAGEMENT.read_text()) == []


def test_it_holds_the_default_models_rules_split_by_family(model):
    default = yaml.safe_load(DEFAULT_RULES.read_text())["rules"]
    split = yaml.safe_load(FIT_ENGAGEMENT.read_text())["scores"]
    assert split["fit"]["rules"] == [r for r in default if "field" in r]
    assert split["engagement"]["rules"] == [r for r in default if "event" in r]


def test_a_senior_decision_maker_who_engaged_is_a2_and_warm(model):
    # fit: senior-title 15 + company-size 5 + target-industry 5 + home-market 3 = 28 -> A
    # engagement (000): contact 10 + 2 service pages 10 + front 3 + 7 opens 7 = 30 -> '2'
    anna = person("anna", "anna@client.dk", job_title="CEO", company_size="200",
                  industry="Software", country="DK")
    result = score_model(anna, story_000("anna", T0), model, T0)
    fit, engagement = result.scores["fit"], result.scores["engagement"]
    assert points(fit) == {"senior-title": 15, "company-size": 5, "target-industry": 5,
                           "home-market": 3}
    assert (fit.total, fit.tier, fit.next_change_at) == (28, "A", None)
    assert points(engagement) == {"contact-page": 10, "service-page": 10, "front-page": 3,
                                  "newsletter-open": 7}
    assert (engagement.total, engagement.tier) == (30, "2")
    assert engagement.next_change_at == T0 + timedelta(days=14)  # the first decay step
    assert result.cell == "A2"
    assert result.warm and not result.at_floor  # fit A >= B and engagement 30 >= 20
    assert result.next_change_at == T0 + timedelta(days=14)


def test_the_same_lead_cools_to_a3_and_is_no_longer_warm_after_28_quiet_days(model):
    anna = person("anna", None, job_title="CEO", company_size="200", industry="Software",
                  country="DK")
    day14 = score_model(anna, story_000("anna", T0), model, T0 + timedelta(days=14))
    assert (day14.scores["engagement"].total, day14.cell, day14.warm) == (20, "A2", True)
    day28 = score_model(anna, story_000("anna", T0), model, T0 + timedelta(days=28))
    assert day28.scores["fit"].total == 28  # fit has no decay
    assert points(day28.scores["engagement"])["inactivity-decay"] == -20
    assert (day28.scores["engagement"].total, day28.cell, day28.warm) == (10, "A3", False)
    assert not day28.scores["engagement"].warm  # every score carries the contact's warm


def test_a_student_who_reads_everything_is_d1_and_not_warm(model):
    # fit: student -20 + home-market 3 = -17 -> D
    # engagement (002): guides 5 + 10, four opens 5, clicks in 3 emails 5, 5 posts 15 = 40
    student = person("stu", None, job_title="Marketing student", country="SE")
    result = score_model(student, story_002("stu", T0), model, T0)
    assert (result.scores["fit"].total, result.scores["fit"].tier) == (-17, "D")
    assert (result.scores["engagement"].total, result.scores["engagement"].tier) == (40, "1")
    assert result.cell == "D1"
    assert not result.warm and not result.at_floor


def test_a_modest_fit_that_engages_a_lot_is_warm_by_the_grid_cell_c1(model):
    # fit: company-size 5 -> C (5..9); engagement 40 -> '1'; warm by {grid: [C1]} alone
    lead = person("mid", None, company_size=50)
    result = score_model(lead, story_002("mid", T0), model, T0)
    assert (result.scores["fit"].total, result.cell) == (5, "C1")
    assert result.warm


def test_a_competitor_is_at_the_floor_by_fit_whatever_it_reads(model):
    # fit: senior-title 15 + competitor -50 = -35, clamped to -30: the fit floor
    rival = person("riv", "ceo@rivalagency.com", job_title="CEO")
    result = score_model(rival, story_000("riv", T0), model, T0)
    fit = result.scores["fit"]
    assert (fit.raw_total, fit.total, fit.tier) == (-35, -30, "D")
    assert result.scores["engagement"].total == 30
    assert result.cell == "D2"
    assert result.at_floor and not result.warm


def test_a_job_application_puts_engagement_at_its_floor(model):
    applicant = person("job", None)
    events = [Event("job-1", "job", EventType.FORM_SUBMISSION, T0, name="job-application",
                    url=f"{SITE}/jobs")]
    result = score_model(applicant, events, model, T0)
    assert points(result.scores["engagement"]) == {"job-application": -30}
    assert (result.scores["fit"].total, result.scores["engagement"].total) == (0, -30)
    assert result.cell == "D4" and result.at_floor and not result.warm


# --- a file in today's format is one score, scored exactly as today ------------------------
def test_a_one_score_file_loads_as_the_same_model_and_compiled_form(default_model):
    loaded = load_model(DEFAULT_RULES)
    assert loaded.single == default_model and list(loaded.scores) == ["score"]
    assert loaded.scores["score"] is loaded.single
    assert loaded.grid is None and loaded.floor_action == default_model.floor_action
    assert compile_model(loaded.single).meta == compile_model(default_model).meta


@pytest.mark.parametrize("days", [0, 14, 28, 45])
@pytest.mark.parametrize("who", ["anna", "stu", "riv"])
def test_a_one_score_file_gives_todays_result_and_fields(default_model, who, days):
    contacts = {"anna": person("anna", None, job_title="CEO", country="DK"),
                "stu": person("stu", None, job_title="student"),
                "riv": person("riv", "x@rivalagency.com")}
    events = (story_002 if who == "stu" else story_000)(who, T0)
    now = T0 + timedelta(days=days)
    today = score(contacts[who], events, default_model, now)
    result = score_model(contacts[who], events, load_model(DEFAULT_RULES), now)
    assert result.primary == today and result.scores == {"score": today}
    assert (result.total, result.raw_total, result.tier, result.interests,
            result.explanation) == (today.total, today.raw_total, today.tier,
                                    today.interests, today.explanation)
    assert (result.warm, result.at_floor, result.next_change_at, result.cell) == (
        today.warm, today.at_floor, today.next_change_at, None)
