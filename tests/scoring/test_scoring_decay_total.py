"""Decay over the whole score (``decay.applies_to: total``, article 000's list hygiene)
beside the default (earned behaviour points only, never below 0)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.errors import RulesError
from connector.models import Contact, TransitionKind
from connector.scoring import RulesModel, load_rules_text, score, transitions
from connector.scoring.rules_file import rules_yaml
from connector.scoring.sheet import export_csv, export_xlsx, import_sheet, to_rows

from .scenarios import story_000

T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)
QUIET = Contact(id="c1", email=None)
CEO = Contact(id="c1", email=None, fields={"job_title": "CEO"})


def with_decay(model: RulesModel, **decay: object) -> RulesModel:
    data = model.model_dump(by_alias=True)
    data["decay"] = {"points": -10, "every": "14d", **decay}
    return RulesModel.model_validate(data)


@pytest.fixture(scope="module")
def total_model(default_model):
    return with_decay(default_model, applies_to="total")


def walk(model: RulesModel, contact: Contact, days: int) -> list[tuple[int, int, bool]]:
    """(day, total, at floor) at each moment the engine announces, up to ``days``."""
    events = story_000("c1", T0)
    out, now = [], T0
    while now <= T0 + timedelta(days=days):
        result = score(contact, events, model, now)
        out.append(((now - T0).days, result.total, result.at_floor))
        if result.next_change_at is None:
            break
        now = result.next_change_at
    return out


def test_quiet_warm_lead_decays_to_the_floor_and_is_unsubscribed_under_total(total_model):
    steps = walk(total_model, QUIET, 400)
    assert [(d, s) for d, s, _ in steps] == [(0, 30), (14, 20), (28, 10), (42, 0), (56, -10),
                                               (70, -20), (84, -30)]
    assert steps[-1][2]  # at the floor, and time alone changes nothing more
    events = story_000("c1", T0)
    before = score(QUIET, events, total_model, T0 + timedelta(days=83))
    floor = score(QUIET, events, total_model, T0 + timedelta(days=84))
    assert floor.total == total_model.range.min and floor.next_change_at is None
    decay = next(h for h in floor.explanation if h.rule_id == "inactivity-decay")
    assert decay.points == -60 and "stops at -30" in decay.description
    _, state = transitions(None, before, total_model)
    changes, _ = transitions(state, floor, total_model)
    assert TransitionKind.HIT_FLOOR in [t.kind for t in changes]


def test_the_default_decay_never_goes_below_zero(default_model):
    assert default_model.decay is not None and default_model.decay.applies_to == "behaviour"
    steps = walk(default_model, QUIET, 400)
    assert [s for _, s, _ in steps] == [30, 20, 10, 0]
    events = story_000("c1", T0)
    later = score(QUIET, events, default_model, T0 + timedelta(days=400))
    assert later.total == 0 and not later.at_floor


def test_fit_points_decay_only_under_total(default_model, total_model):
    events = story_000("c1", T0)
    year = T0 + timedelta(days=365)
    assert score(CEO, events, default_model, year).total == 15  # decision maker +15 stays
    assert score(CEO, events, total_model, year).total == -30


def test_min_total_still_stops_total_decay(default_model):
    model = with_decay(default_model, applies_to="total", min_total=-10)
    steps = walk(model, CEO, 400)
    assert steps[-1][1] == -10 and not steps[-1][2]


def test_a_contact_without_any_event_does_not_decay(total_model):
    result = score(CEO, [], total_model, T0)
    assert result.total == 15 and result.next_change_at is None


def test_applies_to_is_validated_and_accepts_american_spelling(default_model):
    text = rules_yaml(default_model).replace("applies_to: behaviour", "applies_to: behavior")
    assert load_rules_text(text).decay.applies_to == "behaviour"
    with pytest.raises(RulesError) as info:
        load_rules_text(rules_yaml(default_model).replace("applies_to: behaviour",
                                                          "applies_to: everything"))
    assert "decay.applies_to" in str(info.value)


@pytest.mark.parametrize(("export", "suffix"), [(export_csv, "csv"), (export_xlsx, "xlsx")])
def test_applies_to_round_trips_through_the_spreadsheet(tmp_path, total_model, export, suffix):
    settings, _ = to_rows(total_model)
    assert ["decay.applies_to", "total", None] in settings
    path = export(total_model, tmp_path / f"m.{suffix}")
    back = import_sheet(path)
    assert back == total_model and back.decay.stops_at(back.range.min) == -30


def test_floor_action_none_reaches_the_floor_without_an_unsubscribe(default_model):
    data = with_decay(default_model, applies_to="total").model_dump(by_alias=True)
    model = RulesModel.model_validate({**data, "floor_action": "none"})
    events = story_000("c1", T0)
    _, state = transitions(None, score(QUIET, events, model, T0), model)
    floor = score(QUIET, events, model, T0 + timedelta(days=84))
    changes, after = transitions(state, floor, model)
    assert floor.at_floor and after.at_floor
    assert TransitionKind.HIT_FLOOR not in [t.kind for t in changes]
