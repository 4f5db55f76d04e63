"""A file of several scores is checked like a one-score file (issue 24): every problem with
the grid, a condition or a property is one RulesError naming the file, the line, the field
and the fix; conditions that always hold and unknown fields are warnings."""

from __future__ import annotations

import pytest

from connector.errors import RulesError
from connector.scoring.scores_file import load_model, model_warnings

BASE = """\
version: 1
name: two
scores:
  fit:
    range: {min: -30, max: 30}
    tiers:
      - {name: D}
      - {name: C, from: 5}
      - {name: B, from: 10}
      - {name: A, from: 20}
    decay: null
    rules:
      - {id: senior, field: job_title, contains: ceo, points: 15}
  engagement:
    tiers:
      - {name: '4'}
      - {name: '3', from: 10}
      - {name: '2', from: 20}
      - {name: '1', from: 40}
    rules:
      - {id: contact-page, event: page_view, url: '*/contact*', points: 10}
grid: {rows: fit, columns: engagement, property: lead_grid}
warm_when:
  all:
    - {score: fit, at_least: B}
    - {score: engagement, at_least: 20}
floor_when: {score: fit, at_floor: true}
"""


def write(tmp_path, old: str, new: str):
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    path = tmp_path / "two.yaml"
    path.write_text(text)
    return path, text


def line_with(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_base_file_is_valid(tmp_path):
    path, text = write(tmp_path, "", "")
    model = load_model(path)
    assert list(model.scores) == ["fit", "engagement"] and model.grid_property == "lead_grid"
    assert model_warnings(model, path, text) == []


CASES = [
    # (what is wrong, old text, new text, field, message, fix)
    ("grid names a missing score", "rows: fit,", "rows: fitt,", "grid.rows",
     "no score named 'fitt'", "use one of fit, engagement"),
    ("grid uses one score twice", "columns: engagement,", "columns: fit,", "grid.columns",
     "rows and columns are both 'fit'", "give the grid two different scores"),
    ("grid property taken by a score", "property: lead_grid", "property: connector_fit_score",
     "grid.property", "the grid writes to property 'connector_fit_score', as score 'fit' does",
     "give each score and the grid its own property"),
    ("grid property not a property name", "property: lead_grid", "property: Lead Grid",
     "grid.property", "'Lead Grid' is not a CRM property name",
     "use lower-case letters a-z, digits and '_', starting with a letter"),
    ("two scores on one property", "  engagement:\n",
     "  engagement:\n    property: connector_fit_score\n", "property",
     "score 'engagement' writes to property 'connector_fit_score', as score 'fit' does",
     "give each score and the grid its own property"),
    ("unknown tier", "at_least: B}", "at_least: E}", "warm_when.all.at_least",
     "score 'fit' has no tier 'E'", "use one of D, C, B, A (or a number)"),
    ("number beyond the range", "at_least: 20}", "at_least: 200}", "warm_when.all.at_least",
     "at_least 200 can never hold: score 'engagement' runs from -30 to 100",
     "give a number from -29 to 100"),
    ("not a number nor a tier", "at_least: 20}", "at_least: 2.5}", "warm_when.all.at_least",
     "2.5 is neither a whole number of points nor a tier name", "e.g. at_least: 30"),
    ("two forms in one condition", "at_least: 20}", "at_least: 20, grid: [A1]}",
     "warm_when.all", "got score, grid", "keep one, and nest the others under all: or any:"),
    ("no comparison", "{score: engagement, at_least: 20}", "{score: engagement}",
     "warm_when.all", "a score condition takes one comparison, got none",
     "write at_least: N, below: N"),
    ("unknown score in a condition", "{score: engagement, at_least: 20}",
     "{score: engagment, below: 30}", "warm_when.all.score", "no score named 'engagment'",
     "use one of fit, engagement"),
    ("unknown grid cell", "{score: engagement, at_least: 20}", "{grid: [A5]}",
     "warm_when.all.grid", "no grid cell 'A5'", "use cells of the grid"),
    ("floor at_floor false", "{score: fit, at_floor: true}", "{score: fit, at_floor: false}",
     "floor_when", "at_floor: false is not a condition", "at_floor: true"),
    ("warm_at in a file of scores", "name: two\n", "name: two\nwarm_at: 30\n", "warm_at",
     "with scores:, warm_at is a condition", "write warm_when: {score: NAME, at_least: N}"),
    ("top-level rules in a file of scores", "name: two\n", "name: two\nrules: []\n", "rules",
     "each score has its own rules", "move rules: under scores.NAME"),
    ("no warm_when", "warm_when:\n  all:", "warm_whn:\n  all:", "warm_whn",
     "Extra inputs are not permitted", "remove or rename 'warm_whn'"),
    ("floor_action without a floor", "floor_when: {score: fit, at_floor: true}\n",
     "floor_action: unsubscribe\n", "floor_action", "floor_action unsubscribe needs a floor",
     "add floor_when: {score: NAME, at_floor: true}, or floor_action: none"),
]


@pytest.mark.parametrize(("old", "new", "field", "message", "fix"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_grid_condition_or_property_names_file_line_field_and_fix(
        tmp_path, old, new, field, message, fix):
    path, text = write(tmp_path, old, new)
    with pytest.raises(RulesError) as info:
        load_model(path)
    error = info.value
    assert error.file == str(path)
    place = new.strip().splitlines()[-1] if new.strip() else old.strip().splitlines()[0]
    assert error.field is not None and error.field.startswith(
        f"line {line_with(text, place)}: "), (error.field, place)
    assert error.field.endswith(f"field {field!r}")
    assert message in str(error) and fix in (error.fix or "")
    assert "\n" not in str(error)


def test_a_grid_condition_without_a_grid_says_so(tmp_path):
    path, text = write(tmp_path, "grid: {rows: fit, columns: engagement, property: lead_grid}\n"
                       "warm_when:\n  all:\n    - {score: fit, at_least: B}",
                       "warm_when:\n  all:\n    - {grid: [A1]}")
    with pytest.raises(RulesError) as info:
        load_model(path)
    assert info.value.field == f"line {line_with(text, '{grid: [A1]}')}: field 'warm_when.all.grid'"
    assert "this model has no grid" in str(info.value) and "add a grid:" in info.value.fix


def test_grid_tiers_that_make_one_cell_name_twice_are_an_error(tmp_path):
    text = BASE.replace("{name: '4'}", "{name: '23'}").replace("{name: C,", "{name: B2,")
    path = tmp_path / "two.yaml"
    path.write_text(text)
    with pytest.raises(RulesError) as info:
        load_model(path)  # fit B2 + engagement 3 and fit B + engagement 23: both B23
    assert info.value.field == f"line {line_with(text, 'grid:')}: field 'grid'"
    assert "tiers ('B2', '3') and ('B', '23') both make the cell 'B23'" in str(info.value)
    assert "rename tiers so that each pair makes its own cell name" in info.value.fix


def test_an_error_inside_a_score_names_the_score_the_rule_and_the_line(tmp_path):
    path, text = write(tmp_path, "id: contact-page, event", "id: contact-page, evnt")
    with pytest.raises(RulesError) as info:
        load_model(path)
    assert info.value.field == (f"line {line_with(text, 'evnt')}: score 'engagement': "
                                "rule 'contact-page': field 'evnt'")
    assert info.value.fix == "remove or rename 'evnt'; see docs/rules.md for the allowed keys"


def test_a_rule_id_used_in_two_scores_is_an_error(tmp_path):
    path, text = write(tmp_path, "id: contact-page", "id: senior")
    with pytest.raises(RulesError, match=r"rule id 'senior' is used twice \(in score 'fit' "
                                         r"and score 'engagement'\)") as info:
        load_model(path)
    assert info.value.field == (f"line {line_with(text, 'id: senior, event')}: "
                                "score 'engagement': rule 'senior': field 'id'")


def test_a_score_s_tier_problem_points_at_the_tier(tmp_path):
    path, text = write(tmp_path, "{name: C, from: 5}", "{name: C, from: 50}")
    with pytest.raises(RulesError, match=r"tier 'C' starts at 50, above range.max \(30\)"
                       ) as info:
        load_model(path)
    line = line_with(text, "from: 50")
    assert info.value.field == f"line {line}: score 'fit': field 'tiers.from'"


def test_a_condition_that_always_holds_and_an_unknown_field_are_warnings(tmp_path):
    path, text = write(tmp_path, "{score: engagement, at_least: 20}",
                       "{score: engagement, at_least: -30}")
    text = text.replace("field: job_title", "field: jobtitle")
    path.write_text(text)
    warnings = [str(w) for w in model_warnings(load_model(path), path, text)]
    assert warnings == [
        f"{path}:{line_with(text, 'jobtitle')}: rule 'senior': no CRM adapter produces field "
        "'jobtitle', so the rule never fires; did you mean 'job_title'? (ignore this if a "
        "client's crm.field_map adds it)",
        f"{path}:{line_with(text, 'at_least: -30')}: warm_when: 'engagement at least -30' "
        "holds for every contact (it is at or beyond the score's range); drop it or give a "
        "number inside the range",
    ]


def test_below_a_tier_holds_under_the_tiers_from(tmp_path):
    from datetime import UTC, datetime

    from connector.models import Contact, Event
    from connector.scoring.scores_engine import score_model

    path, _ = write(tmp_path, "floor_when: {score: fit, at_floor: true}",
                    "floor_when: {score: engagement, below: '3'}")  # tier 3 is from 10
    model = load_model(path)
    now = datetime(2026, 10, 1, tzinfo=UTC)
    visit = [Event("e1", "c", "page_view", now, url="https://x.example/contact")]
    assert score_model(Contact("c", None), [], model, now).at_floor  # engagement 0 < 10
    assert not score_model(Contact("c", None), visit, model, now).at_floor  # 10


def test_one_score_readers_say_plainly_that_a_file_of_scores_is_not_theirs_yet(tmp_path):
    from connector.scoring import load_rules

    path, text = write(tmp_path, "", "")
    with pytest.raises(RulesError, match="this file declares several scores") as info:
        load_rules(path)
    assert info.value.field == f"line {line_with(text, 'scores:')}: field 'scores'"
    assert "config/rules/default.yaml" in (info.value.fix or "")
