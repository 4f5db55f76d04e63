"""The scoring model as a spreadsheet: export, edit, import, errors and the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.errors import RulesError
from connector.scoring import Rule, RulesModel, load_rules
from connector.scoring.rules import Decay
from connector.scoring.sheet import (
    RULE_COLUMNS,
    export_csv,
    export_xlsx,
    import_sheet,
    to_rows,
    write_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules" / "default.yaml"
_load_commands()
runner = CliRunner()


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _edit_csv(path: Path, rule_id: str, column: str, value: str) -> int:
    """Set one cell of a rule's row; returns the 1-based row number."""
    rows = _csv_rows(path)
    header = next(i for i, r in enumerate(rows) if r and r[0] == "id")
    col = rows[header].index(column)
    number = next(i for i, r in enumerate(rows) if i > header and r and r[0] == rule_id)
    rows[number][col] = value
    _write_csv(path, rows)
    return number + 1


@pytest.fixture
def csv_sheet(tmp_path: Path, default_model: RulesModel) -> Path:
    return export_csv(default_model, tmp_path / "model.csv")


@pytest.fixture
def xlsx_sheet(tmp_path: Path, default_model: RulesModel) -> Path:
    return export_xlsx(default_model, tmp_path / "model.xlsx")


# --------------------------------------------------------------------------- round trips
def test_default_model_round_trips_through_csv(csv_sheet, default_model):
    assert import_sheet(csv_sheet) == default_model


def test_default_model_round_trips_through_xlsx_and_yaml(xlsx_sheet, default_model, tmp_path):
    model = import_sheet(xlsx_sheet)
    assert model == default_model
    assert load_rules(write_yaml(model, tmp_path / "back.yaml")) == default_model


def test_layout_of_both_tables(default_model):
    settings, rules = to_rows(default_model)
    assert settings[0] == ["setting", "value", "from"]
    assert [r[0] for r in settings[1:8]] == ["version", "name", "description", "range.min",
                                             "range.max", "warm_at", "floor_action"]
    assert settings[-4:] == [["tier", "cold", None], ["tier", "semi-warm", 10],
                             ["tier", "warm", 30], ["tier", "hot", 60]]
    assert rules[0][:5] == ["id", "description", "points", "topic", "group"]
    assert sorted(rules[0]) == sorted(Rule.model_fields)
    assert [r[0] for r in rules[1:]] == [r.id for r in default_model.rules]
    home = next(r for r in rules if r[0] == "home-market")
    assert home[RULE_COLUMNS.index("one_of")] == \
        "[DK, SE, 'NO', FI, Denmark, Sweden, Norway, Finland]"


def test_xlsx_has_rules_then_settings_bold_frozen_headers_and_numbers(xlsx_sheet):
    book = openpyxl.load_workbook(xlsx_sheet)
    assert book.sheetnames == ["rules", "settings"]
    rules = book["rules"]
    assert rules["A1"].value == "id" and rules["A1"].font.bold
    assert rules.freeze_panes == "B2" and book["settings"].freeze_panes == "A2"
    assert isinstance(rules["C2"].value, int)  # points
    assert rules.column_dimensions["B"].width > rules.column_dimensions["C"].width


def test_decay_off_and_typed_cells_round_trip(tmp_path, default_model):
    first = default_model.rules[0]
    model = default_model.model_copy(update={
        "decay": None, "name": "", "rules": [
            first.model_copy(update={"topic": "a, b: \"c\"\nnew line"}),
            *default_model.rules[1:],
            Rule(id="text-ten", field="size", equals="10", points=1),
            Rule(id="number-ten", field="size", equals=10, points=1),
            Rule(id="formula", field="x", contains="=1+1", points=1),
        ]})
    model = RulesModel.model_validate(model.model_dump(by_alias=True))
    settings, rules = to_rows(model)
    assert ["decay", "off", None] in settings
    assert rules[-3][RULE_COLUMNS.index("equals")] == "'10'"
    assert rules[-2][RULE_COLUMNS.index("equals")] == "10"
    for path in (export_csv(model, tmp_path / "m.csv"), export_xlsx(model, tmp_path / "m.xlsx")):
        assert import_sheet(path) == model


def test_csv_with_bom_and_comma_lists_is_read(csv_sheet):
    _edit_csv(csv_sheet, "home-market", "one_of", "DK, SE, NO")
    csv_sheet.write_bytes(b"\xef\xbb\xbf" + csv_sheet.read_bytes())
    model = import_sheet(csv_sheet)
    assert next(r for r in model.rules if r.id == "home-market").one_of == ["DK", "SE", "NO"]


# --------------------------------------------------------------------------- editing
def test_editing_points_in_the_workbook_changes_the_rule(xlsx_sheet):
    book = openpyxl.load_workbook(xlsx_sheet)
    sheet = book["rules"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "pricing-page")
    row[header.index("points")].value = 12
    book.save(xlsx_sheet)
    model = import_sheet(xlsx_sheet)
    assert next(r for r in model.rules if r.id == "pricing-page").points == 12


def test_deleting_unused_columns_and_blank_rows_is_fine(tmp_path, default_model):
    rows = [["setting", "value", "from"], ["warm_at", "40", ""], [],
            ["id", "points", "event"], ["a", "5", "page_view"], ["", "", ""],
            ["b", "-5", "download"]]
    path = tmp_path / "short.csv"
    _write_csv(path, rows)
    model = import_sheet(path)
    assert model.warm_at == 40 and [r.id for r in model.rules] == ["a", "b"]
    assert model.tiers == default_model.tiers and model.decay == Decay()


# --------------------------------------------------------------------------- errors
def _error(path: Path) -> str:
    with pytest.raises(RulesError) as info:
        import_sheet(path)
    message = str(info.value)
    assert str(path) in message and "(fix: " in message and "\n" not in message
    return message


def test_non_integer_points_names_row_and_column(csv_sheet):
    row = _edit_csv(csv_sheet, "pricing-page", "points", "five")
    message = _error(csv_sheet)
    assert f"row {row}" in message and "column 'points'" in message
    assert "rule 'pricing-page'" in message and "whole number" in message


def test_non_integer_points_in_xlsx_names_sheet_row_and_column(xlsx_sheet):
    book = openpyxl.load_workbook(xlsx_sheet)
    book["rules"]["C4"] = "lots"
    book.save(xlsx_sheet)
    message = _error(xlsx_sheet)
    assert "sheet 'rules', row 4" in message and "column 'points'" in message


def test_unknown_column_names_the_allowed_ones(csv_sheet):
    rows = _csv_rows(csv_sheet)
    header = next(i for i, r in enumerate(rows) if r and r[0] == "id")
    rows[header][RULE_COLUMNS.index("topic")] = "topik"
    _write_csv(csv_sheet, rows)
    message = _error(csv_sheet)
    assert f"row {header + 1}" in message and "unknown column 'topik'" in message
    assert "topic" in message.split("fix:")[1]


def test_invalid_regex_names_row_and_column(xlsx_sheet):
    book = openpyxl.load_workbook(xlsx_sheet)
    sheet = book["rules"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "student")
    row[header.index("regex")].value = "(unclosed"
    book.save(xlsx_sheet)
    message = _error(xlsx_sheet)
    assert f"row {row[0].row}" in message and "column 'regex'" in message
    assert "does not compile" in message


def test_rule_without_field_or_event_names_the_row(csv_sheet):
    row = _edit_csv(csv_sheet, "contact-page", "event", "")
    message = _error(csv_sheet)
    assert f"row {row}" in message and "rule 'contact-page'" in message
    assert "exactly one of 'field'" in message and "column 'field'" in message


def test_bad_tier_order_names_the_settings_row(xlsx_sheet):
    book = openpyxl.load_workbook(xlsx_sheet)
    sheet = book["settings"]
    hot = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "hot")
    hot[2].value = 20
    book.save(xlsx_sheet)
    message = _error(xlsx_sheet)
    assert f"sheet 'settings', row {hot[0].row}" in message and "column 'from'" in message
    assert "tier 'hot' starts at 20, not above tier 'warm' (30)" in message


def test_bad_setting_value_and_unknown_setting(csv_sheet):
    rows = _csv_rows(csv_sheet)
    warm = next(i for i, r in enumerate(rows) if r and r[0] == "warm_at")
    rows[warm][1] = "500"
    _write_csv(csv_sheet, rows)
    assert f"row {warm + 1}" in _error(csv_sheet)
    rows[warm][0] = "warm_from"
    _write_csv(csv_sheet, rows)
    message = _error(csv_sheet)
    assert "unknown setting 'warm_from'" in message and "warm_at" in message


def test_duplicate_rule_id_names_the_second_row(csv_sheet):
    row = _edit_csv(csv_sheet, "pricing-page", "id", "contact-page")
    message = _error(csv_sheet)
    assert f"row {row}" in message and "used twice" in message


def test_missing_id_header_and_wrong_suffix(tmp_path):
    path = tmp_path / "nohead.csv"
    _write_csv(path, [["setting", "value", "from"], ["warm_at", "30", ""]])
    assert "no rules table" in _error(path)
    other = tmp_path / "model.ods"
    other.write_text("x")
    assert ".xlsx" in _error(other).split("fix:")[1]


def test_bad_yaml_cell_is_named(csv_sheet):
    row = _edit_csv(csv_sheet, "home-market", "one_of", "[DK, SE")
    message = _error(csv_sheet)
    assert f"row {row}" in message and "column 'one_of'" in message


# --------------------------------------------------------------------------- CLI
def test_cli_export_then_import_gives_a_file_rules_check_accepts(tmp_path):
    for fmt in ("xlsx", "csv"):
        sheet = tmp_path / f"model.{fmt}"
        result = runner.invoke(app, ["rules", "export", str(RULES), "--format", fmt,
                                     "--out", str(sheet)])
        assert result.exit_code == 0, result.output
        assert "wrote" in result.output and sheet.exists()
        out = tmp_path / f"from-{fmt}.yaml"
        result = runner.invoke(app, ["rules", "import", str(sheet), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert f"ok: {len(load_rules(RULES).rules)} rules" in result.output
        check = runner.invoke(app, ["rules", "check", str(out)])
        assert check.exit_code == 0 and "ok" in check.output
        assert load_rules(out) == load_rules(RULES)


def test_cli_import_check_writes_nothing_and_bad_sheet_exits_2(tmp_path):
    sheet = tmp_path / "model.csv"
    assert runner.invoke(app, ["rules", "export", str(RULES), "--out", str(sheet)]).exit_code == 0
    result = runner.invoke(app, ["rules", "import", str(sheet), "--check"])
    assert result.exit_code == 0 and "ok" in result.output
    assert list(tmp_path.iterdir()) == [sheet]
    row = _edit_csv(sheet, "webinar", "points", "5.5")
    result = runner.invoke(app, ["rules", "import", str(sheet), "--out", str(tmp_path / "r.yaml")])
    assert result.exit_code == 2
    assert f"row {row}" in result.output and "points" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r.yaml").exists()


def test_cli_export_default_name_and_bad_format(tmp_path, monkeypatch):
    """Without --out the sheet lands in the working directory, where `rules import
    mine.csv` (the README's round trip) finds it, and the output says where."""
    (tmp_path / "rules").mkdir()
    rules = tmp_path / "rules" / "mine.yaml"
    rules.write_text(RULES.read_text())
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["rules", "export", str(rules), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert (work / "mine.csv").exists() and not (tmp_path / "rules" / "mine.csv").exists()
    assert str(work / "mine.csv") in result.output.replace("\n", "")
    result = runner.invoke(app, ["rules", "import", "mine.csv", "--out", "my-rules.yaml"])
    assert result.exit_code == 0, result.output
    assert load_rules(work / "my-rules.yaml") == load_rules(rules)
    result = runner.invoke(app, ["rules", "export", str(rules), "--format", "ods"])
    assert result.exit_code == 2 and "--format" in result.output
