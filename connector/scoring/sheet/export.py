"""Writing a rules model as a sheet: the settings and rules tables as rows, then as one
CSV file or as an XLSX workbook (numbers Excel would round and formulas are kept as text)."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import yaml

from connector.errors import RulesError
from connector.scoring.rules import RulesModel
from connector.scoring.sheet.layout import (
    BOOL,
    COLUMN_KINDS,
    LIST,
    RULE_COLUMNS,
    RULES_SHEET,
    SETTINGS_COLUMNS,
    SETTINGS_SHEET,
    YAML,
    cell_text,
    place,
)

_EXCEL_DIGITS = 15  # Excel keeps 15 significant digits; longer numbers are written as text
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]")


def flow_yaml(value: Any) -> str:
    """One value as YAML flow text: ``'10'`` (text), ``10``, ``true``, ``[a, 'NO']``."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=2**31 - 1)
    if text.endswith("\n...\n"):
        text = text[:-5]
    return text.rstrip("\n")


def _encode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == BOOL:
        return "true" if value else "false"
    if kind in (YAML, LIST):
        return flow_yaml(value)
    return value


def to_rows(model: RulesModel) -> tuple[list[list[Any]], list[list[Any]]]:
    """The settings table and the rules table, each with its header row first.

    Cells are ``None`` (empty), ``int``, ``float`` or ``str``.
    """
    settings: list[list[Any]] = [list(SETTINGS_COLUMNS)]
    for key, value in (("version", model.version), ("name", model.name),
                       ("description", model.description), ("range.min", model.range.min),
                       ("range.max", model.range.max), ("warm_at", model.warm_at),
                       ("floor_action", model.floor_action)):
        settings.append([key, value if value != "" else None, None])
    if model.decay is None:
        settings.append(["decay", "off", None])
    else:
        settings += [["decay.points", model.decay.points, None],
                     ["decay.every", model.decay.every, None],
                     ["decay.applies_to", model.decay.applies_to, None],
                     ["decay.min_total", model.decay.min_total, None]]  # empty: the default
    settings += [["tier", t.name, t.from_score] for t in model.tiers]
    rules: list[list[Any]] = [list(RULE_COLUMNS)]
    for rule in model.rules:
        row = [_encode(getattr(rule, c), COLUMN_KINDS[c]) for c in RULE_COLUMNS]
        rules.append([None if v == "" else v for v in row])
    return settings, rules


def export_csv(model: RulesModel, path: str | Path) -> Path:
    """Write the settings table, an empty row and the rules table to one UTF-8 CSV file."""
    settings, rules = to_rows(model)
    p = Path(path)
    with p.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerows([cell_text(v) for v in row] for row in settings)
        writer.writerow([])
        writer.writerows([cell_text(v) for v in row] for row in rules)
    return p


def _excel_number(value: int | float) -> bool:
    """True when Excel stores the number exactly (else it is written as text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    text = f"%.{_EXCEL_DIGITS}g" % value
    back: int | float = float(text) if any(c in text for c in ".eE") else int(text)
    return type(back) is type(value) and back == value


def export_xlsx(model: RulesModel, path: str | Path) -> Path:
    """Write a workbook with the sheets ``rules`` (first) and ``settings``."""
    from openpyxl import Workbook

    settings, rules = to_rows(model)
    book = Workbook()
    sheet = book.active
    sheet.title = RULES_SHEET
    _fill(sheet, rules, "B2", path)
    _fill(book.create_sheet(SETTINGS_SHEET), settings, "A2", path)
    p = Path(path)
    book.save(p)
    return p


def _fill(sheet: Any, rows: list[list[Any]], freeze: str, path: str | Path) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row, 1):
            if value is None:
                continue
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, int | float) and not _excel_number(value):
                value = cell_text(value)
            if isinstance(value, str):
                if _ILLEGAL_XLSX.search(value):
                    raise RulesError(
                        "the text has a control character (or a carriage return) that an "
                        ".xlsx workbook cannot hold", file=str(path),
                        field=place(sheet.title, r, rows[0][c - 1]),
                        fix="remove it from the rules file, or export as CSV")
                cell.value = value
                cell.data_type = "s"  # never a formula or an error code, even with "=" or "#"
                if "\n" in value:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            else:
                cell.value = value
            if r == 1:
                cell.font = Font(bold=True)
            longest = max(len(line) for line in str(value).split("\n"))
            widths[c] = max(widths.get(c, 0), longest)
    for c, width in widths.items():
        sheet.column_dimensions[get_column_letter(c)].width = min(max(width, 6), 60) + 2
    sheet.freeze_panes = freeze
