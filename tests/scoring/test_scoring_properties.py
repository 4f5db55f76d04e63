"""Properties of the engine that must hold for any contact, events and moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.models import Contact, Event, EventType
from connector.scoring import score
from connector.scoring.compiled import compile_model

from .conftest import DEFAULT_RULES

NOW = datetime(2026, 10, 1, tzinfo=UTC)
SITE = "https://www.example-agency.com"
URLS = [f"{SITE}{p}" for p in ("/", "/contact", "/pricing", "/services/seo", "/services/web",
                               "/cases/a", "/blog/post-1", "/blog/post-2", "/blog/post-3",
                               "/blog/post-4", "/blog/post-5", "/about")]
TITLES = [None, "CEO", "Student", "Recruiter", "Marketing Manager", "Head of Sales", "💼 CEO"]


@st.composite
def events(draw, prefix: str = "e"):
    kind = draw(st.sampled_from([*list(EventType), "webinar_attended"]))
    at = NOW - timedelta(seconds=draw(st.integers(0, 200 * 86400)))
    return Event(
        id=f"{prefix}{draw(st.integers(0, 10**9))}",
        contact_id="c",
        type=kind,
        occurred_at=at,
        url=draw(st.sampled_from(URLS)) if kind in ("page_view", "email_click") else None,
        email_id=f"nl-{draw(st.integers(1, 6))}" if kind.startswith("email") else None,
        name=draw(st.sampled_from(["guide-a", "guide-b", "contact-form", "job-application",
                                   "webinar-x"])) if kind in ("download", "form_submission")
        else None,
    )


contacts = st.builds(
    lambda title, size, email: Contact(id="c", email=email, fields={
        "job_title": title, "company_size": size, "email": email, "country": "DK"}),
    st.sampled_from(TITLES),
    st.one_of(st.none(), st.integers(1, 9000).map(str), st.just("n/a")),
    st.sampled_from([None, "a@b.com", "x@rivalagency.com"]),
)
PROPS = settings(max_examples=200, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPS
@given(contact=contacts, evs=st.lists(events(), max_size=30),
       later=st.integers(0, 400 * 86400))
def test_score_always_lies_in_the_range(default_model, contact, evs, later):
    result = score(contact, evs, default_model, NOW + timedelta(seconds=later))
    assert default_model.min_score <= result.total <= default_model.max_score


@PROPS
@given(contact=contacts, evs=st.lists(events(), max_size=30), seed=st.randoms())
def test_order_of_events_never_changes_the_score(default_model, contact, evs, seed):
    shuffled = list(evs)
    seed.shuffle(shuffled)
    a = score(contact, evs, default_model, NOW)
    b = score(contact, shuffled, default_model, NOW)
    assert (a.total, a.raw_total, dict(a.interests)) == (b.total, b.raw_total,
                                                         dict(b.interests))


@PROPS
@given(contact=contacts, evs=st.lists(events(), max_size=30), extra=events(prefix="x"))
def test_an_event_matching_only_positive_rules_never_lowers_the_score(
        default_model, contact, evs, extra):
    matched = compile_model(default_model).rules_for(extra)
    if any(er.rule.points < 0 for er in matched):
        return
    before = score(contact, evs, default_model, NOW).total
    after = score(contact, [*evs, extra], default_model, NOW).total
    assert after >= before


@PROPS
@given(contact=contacts, evs=st.lists(events(), max_size=30))
def test_explanation_points_sum_to_the_total_before_clamping(default_model, contact, evs):
    result = score(contact, evs, default_model, NOW)
    assert sum(hit.points for hit in result.explanation) == result.raw_total


@PROPS
@given(contact=contacts, evs=st.lists(events(), max_size=20),
       fraction=st.floats(0, 0.999))
def test_nothing_changes_before_the_announced_next_change(default_model, contact, evs,
                                                          fraction):
    result = score(contact, evs, default_model, NOW)
    horizon = result.next_change_at or NOW + timedelta(days=1000)
    probe = NOW + (horizon - NOW) * fraction
    assert score(contact, evs, default_model, probe).total == result.total


def test_default_model_file_is_the_one_under_test(default_model):
    assert DEFAULT_RULES.exists() and default_model.warm_at == 30
