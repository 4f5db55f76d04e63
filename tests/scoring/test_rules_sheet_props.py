"""Property: any valid model survives CSV, XLSX and sheet → YAML unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from connector.scoring import RulesModel, load_rules
from connector.scoring.sheet import export_csv, export_xlsx, import_sheet, write_yaml

TRICKY = ["10", "true", "false", "a, b", "x: y", "#hash", "'quoted", '"double"', "=1+1",
          "[a, b]", "null", "~", "-5", "1e3", "0x1F", "NO", "yes", "setting", "id", "off",
          "line\nbreak", "ünïcødé ✓ 日本", "  padded  ", "", "tab\there", "{k: v}", "@at",
          "%pct", "!tag", "- dash", "? q", "a,b,", "\\back\\slash"]
_CHARS = st.characters(exclude_categories=("Cs", "Cc", "Cn")) | st.sampled_from(
    list(",'\"\n#:[]{}=- "))
TEXT = st.one_of(st.text(_CHARS, max_size=15), st.sampled_from(TRICKY))
NON_BLANK = TEXT.filter(lambda s: s.strip() != "")
OPTIONAL_TEXT = st.none() | TEXT
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
NUMBERS = st.integers(-10**6, 10**6) | FLOATS
DURATION = st.sampled_from(["14d", "2w", "36h", "1 day", "3 weeks", "12 hours", "90D"]) | st.builds(
    lambda n, u: f"{n}{u}", st.integers(1, 400), st.sampled_from("hdw"))
REGEX = st.sampled_from([r"\b(ceo|cto)\b", "^a.*$", "[,;]", "x: y", "'q'", r"\d{2,}", "é+"])
POINTS = st.integers(-100, 100).filter(bool)


@st.composite
def field_rule(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"field": draw(NON_BLANK)}
    op = draw(st.sampled_from(["equals", "one_of", "contains", "regex", "range", "exists",
                               "email_domain"]))
    if op == "equals":
        rule["equals"] = draw(TEXT | st.integers(-10**6, 10**6) | FLOATS | st.booleans())
    elif op == "one_of":
        rule["one_of"] = draw(st.lists(TEXT | st.integers(-10**6, 10**6) | FLOATS,
                                       max_size=4))
    elif op == "contains":
        rule["contains"] = draw(NON_BLANK)
    elif op == "regex":
        rule["regex"] = draw(REGEX)
    elif op == "range":
        low, high = sorted(draw(st.lists(NUMBERS, min_size=2, max_size=2)))
        which = draw(st.sampled_from(["min", "max", "both"]))
        if which in ("min", "both"):
            rule["min"] = low
        if which in ("max", "both"):
            rule["max"] = high
    elif op == "exists":
        rule["exists"] = draw(st.booleans())
    else:
        rule["email_domain"] = draw(st.lists(TEXT, max_size=3))
    return rule


@st.composite
def event_rule(draw: st.DrawFn, points: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"event": draw(NON_BLANK)}
    url = draw(st.sampled_from(["none", "url", "url_regex"]))
    if url == "url":
        rule["url"] = draw(st.sampled_from(["*/contact*", "*/a,b/*", "*?x=1*"]) | NON_BLANK)
    elif url == "url_regex":
        rule["url_regex"] = draw(REGEX)
    for key in ("name",):
        if draw(st.booleans()):
            rule[key] = draw(NON_BLANK)
    for key in ("within", "expires_after", "inactive_for"):
        if draw(st.booleans()):
            rule[key] = draw(DURATION)
    if draw(st.booleans()):
        rule["distinct"] = draw(st.sampled_from(["email_id", "url", "name"]))
    mode = draw(st.sampled_from(["once", "counts", "per_occurrence", "nth", "not_per"]))
    if mode == "counts":
        low, high = sorted(draw(st.lists(st.integers(1, 50), min_size=2, max_size=2)))
        which = draw(st.sampled_from(["min", "max", "both"]))
        if which in ("min", "both"):
            rule["min_count"] = low
        if which in ("max", "both"):
            rule["max_count"] = high
    elif mode == "per_occurrence":
        rule["per_occurrence"] = True
        if draw(st.booleans()):
            cap = draw(st.integers(abs(points), abs(points) * 10))
            rule["max_points"] = cap if points > 0 else -cap
    elif mode == "nth":
        rule["nth"] = draw(st.integers(2, 9))
    elif mode == "not_per":
        rule["per_occurrence"] = False
    return rule


@st.composite
def rule_dict(draw: st.DrawFn, index: int) -> dict[str, Any]:
    prefix = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True))
    points = draw(POINTS)
    rule: dict[str, Any] = {"id": f"{prefix}-{index}", "points": points}
    if draw(st.booleans()):
        rule["description"] = draw(TEXT)
    for key in ("topic", "group"):
        value = draw(OPTIONAL_TEXT)
        if value is not None:
            rule[key] = value
    rule.update(draw(field_rule() if draw(st.booleans()) else event_rule(points)))
    return rule


@st.composite
def models(draw: st.DrawFn) -> RulesModel:
    low = draw(st.integers(-100, 0))
    high = draw(st.integers(low + 4, low + 200))
    count = draw(st.integers(1, 4))
    names = draw(st.lists(NON_BLANK, min_size=count, max_size=count,
                          unique_by=lambda s: s.strip()))
    starts = sorted(draw(st.lists(st.integers(low + 1, high), min_size=count - 1,
                                  max_size=count - 1, unique=True)))
    tiers: list[dict[str, Any]] = [{"name": names[0]}]
    if draw(st.booleans()):
        tiers[0]["from"] = low
    tiers += [{"name": n, "from": s} for n, s in zip(names[1:], starts, strict=True)]
    decay = draw(st.none() | st.builds(
        lambda p, e, a, m: {"points": p, "every": e, **a, **m},
        st.integers(-50, -1), DURATION,
        st.sampled_from([{}, {"applies_to": "behaviour"}, {"applies_to": "total"}]),
        st.just({}) | st.builds(lambda m: {"min_total": m}, st.integers(-30, 30))))
    count_rules = draw(st.integers(1, 5))
    data = {
        "version": 1, "name": draw(TEXT), "description": draw(TEXT),
        "range": {"min": low, "max": high}, "warm_at": draw(st.integers(low + 1, high)),
        "tiers": tiers, "floor_action": draw(st.sampled_from(["unsubscribe", "none"])),
        "decay": decay, "rules": [draw(rule_dict(i)) for i in range(count_rules)],
    }
    try:
        return RulesModel.model_validate(data)
    except ValidationError:  # a combination the strategy did not rule out
        assume(False)
        raise


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("sheets")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=models())
def test_any_model_round_trips_through_csv_xlsx_and_yaml(model, workdir):
    csv_path, xlsx_path = workdir / "m.csv", workdir / "m.xlsx"
    export_csv(model, csv_path)
    assert import_sheet(csv_path) == model
    export_xlsx(model, xlsx_path)
    from_xlsx = import_sheet(xlsx_path)
    assert from_xlsx == model
    yaml_path = write_yaml(from_xlsx, workdir / "m.yaml", source="m.xlsx")
    assert load_rules(yaml_path) == model
