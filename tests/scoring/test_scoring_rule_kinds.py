"""Every rule kind the engine supports, one behaviour each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.models import Contact, Event
from connector.scoring import load_rules_text, score

NOW = datetime(2026, 10, 1, tzinfo=UTC)


def model(rule_yaml: str, extra: str = "decay: null\n"):
    return load_rules_text(extra + "rules:\n" + rule_yaml)


def ev(i: int, typ: str, days_ago: float = 1, **kw) -> Event:
    return Event(f"e{i}", "c", typ, NOW - timedelta(days=days_ago), **kw)


def total(m, contact=None, events=(), now=NOW) -> int:
    return score(contact or Contact(id="c", email=None), list(events), m, now).total


def person(**fields) -> Contact:
    return Contact(id="c", email=fields.get("email"), fields=fields)


@pytest.mark.parametrize("condition, value, expected", [
    ("equals: CEO", "ceo", 7),
    ("equals: CEO", "CTO", 0),
    ("one_of: [DK, SE]", "se", 7),
    ("one_of: [DK, SE]", "US", 0),
    ("contains: market", "Head of Marketing", 7),
    ("regex: '^head of'", "Head of Sales", 7),
    ("regex: '^head of'", "Sales head of", 0),
    ("exists: true", "anything", 7),
    ("exists: true", "", 0),
    ("exists: false", None, 7),
])
def test_field_conditions(condition, value, expected):
    m = model(f"  - {{id: r, field: job_title, points: 7, {condition}}}\n")
    assert total(m, person(job_title=value)) == expected


@pytest.mark.parametrize("value, expected", [("250", 10), ("1,200", 10), (20, 10), ("19", 0),
                                             ("5001", 0), ("many", 0), (None, 0)])
def test_numeric_range_parses_crm_strings_and_skips_garbage(value, expected):
    m = model("  - {id: size, field: company_size, min: 20, max: 5000, points: 10}\n")
    assert total(m, person(company_size=value)) == expected


def test_email_domain_matches_domain_and_subdomains_only():
    m = model("  - {id: comp, field: email, email_domain: [rival.com], points: -20}\n")
    assert total(m, person(email="a@rival.com")) == -20
    assert total(m, person(email="a@eu.rival.com")) == -20
    assert total(m, person(email="a@notrival.com")) == 0


def test_list_fields_such_as_tags_match_any_element():
    m = model("  - {id: t, field: tags, one_of: [vip], points: 5}\n")
    assert total(m, person(tags=["newsletter", "VIP"])) == 5


def test_page_view_url_glob_and_regex():
    m = model("  - {id: g, event: page_view, url: '*/services/*', points: 5}\n"
              "  - {id: r, event: page_view, url_regex: '/pricing$', points: 3}\n")
    assert total(m, events=[ev(1, "page_view", url="https://x.com/services/seo")]) == 5
    assert total(m, events=[ev(1, "page_view", url="https://x.com/pricing")]) == 3
    assert total(m, events=[ev(1, "page_view", url="https://x.com/blog")]) == 0


def test_window_counts_only_recent_events_and_says_when_one_leaves():
    m = model("  - {id: w, event: email_open, within: 30d, points: 4}\n")
    assert total(m, events=[ev(1, "email_open", days_ago=31)]) == 0
    result = score(Contact(id="c", email=None), [ev(1, "email_open", days_ago=10)], m, NOW)
    assert result.total == 4
    assert result.next_change_at == NOW + timedelta(days=20)


def test_count_threshold_scores_once():
    m = model("  - {id: t, event: email_open, min_count: 4, points: 5}\n")
    opens = [ev(i, "email_open", email_id=str(i)) for i in range(9)]
    assert total(m, events=opens[:3]) == 0
    assert total(m, events=opens[:4]) == 5
    assert total(m, events=opens) == 5


def test_distinct_counting_needs_different_emails():
    m = model("  - {id: d, event: email_click, distinct: email_id, min_count: 3, points: 5}\n")
    same = [ev(i, "email_click", email_id="nl-1") for i in range(5)]
    different = [ev(i, "email_click", email_id=f"nl-{i}") for i in range(3)]
    assert total(m, events=same) == 0
    assert total(m, events=different) == 5


def test_points_per_occurrence_with_a_cap():
    m = model("  - {id: p, event: email_open, per_occurrence: true, points: 2, max_points: 5}\n")
    assert total(m, events=[ev(1, "email_open")]) == 2
    assert total(m, events=[ev(i, "email_open") for i in range(10)]) == 5


def test_nth_occurrence_scores_the_second_guide():
    m = model("  - {id: n, event: download, nth: 2, points: 10}\n")
    assert total(m, events=[ev(1, "download", name="a")]) == 0
    assert total(m, events=[ev(1, "download", name="a"), ev(2, "download", name="b")]) == 10


def test_custom_event_types_and_name_globs():
    m = model("  - {id: w, event: webinar_attended, name: '*pricing*', points: 8}\n")
    assert total(m, events=[ev(1, "webinar_attended", name="Q4 pricing live")]) == 8
    assert total(m, events=[ev(1, "webinar_attended", name="intro")]) == 0


def test_negative_points_and_clamping_to_the_range():
    m = model("  - {id: neg, field: job_title, equals: student, points: -50}\n"
              "  - {id: pos, event: page_view, per_occurrence: true, points: 30, "
              "max_points: 300}\n")
    low = score(person(job_title="Student"), [], m, NOW)
    assert (low.total, low.raw_total, low.at_floor) == (-30, -50, True)
    high = score(Contact(id="c", email=None), [ev(i, "page_view") for i in range(10)], m, NOW)
    assert (high.total, high.raw_total) == (100, 300)


def test_point_expiry_drops_an_events_points_after_n_days():
    m = model("  - {id: x, event: download, expires_after: 60d, points: 5}\n")
    fresh = score(Contact(id="c", email=None), [ev(1, "download", days_ago=10)], m, NOW)
    assert fresh.total == 5 and fresh.next_change_at == NOW + timedelta(days=50)
    assert total(m, events=[ev(1, "download", days_ago=61)]) == 0


def test_inactivity_decay_is_stepwise_and_stops_at_min_total():
    m = model("  - {id: p, event: page_view, per_occurrence: true, points: 10, "
              "max_points: 100}\n", extra="decay: {points: -10, every: 14d, min_total: 0}\n")
    views = [ev(i, "page_view", days_ago=0) for i in range(3)]
    assert total(m, events=views, now=NOW + timedelta(days=13)) == 30
    assert total(m, events=views, now=NOW + timedelta(days=14)) == 20
    assert total(m, events=views, now=NOW + timedelta(days=100)) == 0


def test_topics_give_interests():
    m = model("  - {id: s, event: page_view, url: '*/services/seo', points: 5, topic: seo}\n"
              "  - {id: h, event: page_view, url: '*/services/hubspot', points: 8, "
              "topic: hubspot}\n"
              "  - {id: o, event: email_open, points: 1, topic: seo}\n")
    result = score(Contact(id="c", email=None), [
        ev(1, "page_view", url="https://x/services/seo"),
        ev(2, "page_view", url="https://x/services/hubspot"),
        ev(3, "email_open")], m, NOW)
    assert dict(result.interests) == {"seo": 6, "hubspot": 8}


def test_exclusive_group_keeps_the_best_rule_only():
    m = model("  - {id: each, event: email_open, per_occurrence: true, points: 1, "
              "max_points: 10, group: opens}\n"
              "  - {id: four, event: email_open, min_count: 4, points: 5, group: opens}\n")
    assert total(m, events=[ev(i, "email_open") for i in range(4)]) == 5
    assert total(m, events=[ev(i, "email_open") for i in range(7)]) == 7


def test_quiet_period_rule_applies_only_after_the_quiet_period():
    m = model("  - {id: once, event: page_view, max_count: 1, inactive_for: 30d, points: -5}\n")
    recent = score(Contact(id="c", email=None), [ev(1, "page_view", days_ago=10)], m, NOW)
    assert recent.total == 0 and recent.next_change_at == NOW + timedelta(days=20)
    assert total(m, events=[ev(1, "page_view", days_ago=31)]) == -5
    assert total(m, events=[ev(1, "page_view", days_ago=40), ev(2, "page_view", 35)]) == 0


def test_explanation_names_the_evidence():
    m = model("  - {id: ceo, field: job_title, equals: CEO, points: 15}\n"
              "  - {id: cp, event: page_view, url: '*/contact', points: 10}\n")
    result = score(person(job_title="CEO"), [ev(7, "page_view", url="https://x/contact")], m,
                   NOW)
    hits = {h.rule_id: h for h in result.explanation}
    assert hits["ceo"].evidence == ("job_title='CEO'",)
    assert hits["cp"].evidence == ("e7",)


def test_events_in_the_future_are_ignored():
    m = model("  - {id: cp, event: page_view, points: 10}\n")
    assert total(m, events=[ev(1, "page_view", days_ago=-1)]) == 0
