"""The scoring model as a spreadsheet (CSV or XLSX) and back, without loss.

Two tables: *settings* (``setting``, ``value``, ``from``: version, name, range, warm_at,
floor_action, decay (points, every, applies_to, min_total) and one row per tier) and
*rules* (one row per rule, one column per :class:`Rule` field). Cells: text as is; numbers
as numbers; ``true``/``false``; ``equals``, ``one_of`` and ``email_domain`` as YAML flow
text (``'10'`` is text, ``10`` a number, ``[a, b]`` a list); an empty cell is "not set".
See docs/rules.md.
"""

from __future__ import annotations

import csv
import math
import re
import types
import typing
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connector.errors import RulesError
from connector.scoring.rules import Rule, RulesModel
from connector.scoring.rules_errors import error_loc, fix_for
from connector.scoring.rules_file import rules_yaml

TEXT, INT, NUM, BOOL, YAML, LIST = "text", "int", "number", "bool", "yaml", "list"

FIRST_COLUMNS = ("id", "description", "points", "topic", "group")
RULE_COLUMNS: tuple[str, ...] = FIRST_COLUMNS + tuple(
    name for name in Rule.model_fields if name not in FIRST_COLUMNS)
SETTINGS_COLUMNS = ("setting", "value", "from")
SETTING_KINDS = {
    "version": INT, "name": TEXT, "description": TEXT, "range.min": INT, "range.max": INT,
    "warm_at": INT, "floor_action": TEXT, "decay.points": INT, "decay.every": TEXT,
    "decay.applies_to": TEXT, "decay.min_total": INT, "decay": TEXT, "tier": TEXT,
}
RULES_SHEET, SETTINGS_SHEET = "rules", "settings"
_EXCEL_DIGITS = 15  # Excel keeps 15 significant digits; longer numbers are written as text
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]")
_INT_TEXT = re.compile(r"^[+-]?\d+$")
_UNSET = object()


def _kind(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        args = [annotation]
    if len(args) > 1:
        return YAML
    kind = args[0]
    if typing.get_origin(kind) is list:
        return LIST
    return {bool: BOOL, int: INT, float: NUM}.get(kind, TEXT)


COLUMN_KINDS: dict[str, str] = {name: _kind(f.annotation) for name, f in Rule.model_fields.items()}


# --------------------------------------------------------------------------- cells
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


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def export_csv(model: RulesModel, path: str | Path) -> Path:
    """Write the settings table, an empty row and the rules table to one UTF-8 CSV file."""
    settings, rules = to_rows(model)
    p = Path(path)
    with p.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerows([_csv_cell(v) for v in row] for row in settings)
        writer.writerow([])
        writer.writerows([_csv_cell(v) for v in row] for row in rules)
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
                value = _csv_cell(value)
            if isinstance(value, str):
                if _ILLEGAL_XLSX.search(value):
                    raise RulesError(
                        "the text has a control character (or a carriage return) that an "
                        ".xlsx workbook cannot hold", file=str(path),
                        field=_where(sheet.title, r, rows[0][c - 1]),
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


# --------------------------------------------------------------------------- reading
@dataclass
class _Table:
    sheet: str | None
    header_row: int
    header: list[Any]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _where(sheet: str | None, row: int | None, column: str | None = None,
           rule_id: Any = None) -> str:
    parts = [f"sheet {sheet!r}"] if sheet else []
    if row is not None:
        parts.append(f"row {row}")
    if isinstance(rule_id, str) and rule_id.strip():
        parts.append(f"rule {rule_id.strip()!r}")
    if column:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


def _first_cell(cells: list[Any]) -> str:
    return str(cells[0]).strip().lower() if cells and cells[0] is not None else ""


def _read_csv(p: Path) -> tuple[_Table | None, _Table]:
    try:
        with p.open(encoding="utf-8-sig", newline="") as fh:
            records = list(csv.reader(fh))
    except FileNotFoundError:
        raise RulesError("file not found", file=str(p), fix="check the path") from None
    except UnicodeDecodeError:
        raise RulesError("the CSV file is not UTF-8 text", file=str(p),
                         fix="save it as 'CSV UTF-8 (comma delimited)'") from None
    except csv.Error as exc:
        raise RulesError(f"not a readable CSV file: {exc}", file=str(p),
                         fix="save it as 'CSV UTF-8 (comma delimited)'") from None
    settings: _Table | None = None
    rules: _Table | None = None
    for number, cells in enumerate(records, 1):
        first = _first_cell(cells)
        if rules is not None:
            if not all(_blank(c) for c in cells):
                rules.rows.append((number, cells))
        elif first == "id":
            rules = _Table(None, number, cells)
        elif first == "setting" and settings is None:
            settings = _Table(None, number, cells)
        elif all(_blank(c) for c in cells):
            continue
        elif settings is not None:
            settings.rows.append((number, cells))
        else:
            raise RulesError("a row before any header row", file=str(p), field=_where(None, number),
                             fix="start with the header row 'setting, value, from' or the rules "
                                 "header 'id, description, points, ...'")
    if rules is None:
        raise RulesError("no rules table: no row starts with the header 'id'", file=str(p),
                         fix="keep the rules header row (id, description, points, ...) that "
                             "`connector rules export` writes")
    return settings, rules


def _sheet_table(sheet: Any, first: str, p: Path) -> _Table:
    table: _Table | None = None
    for number, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1):
        cells = list(row)
        if table is not None:
            if not all(_blank(c) for c in cells):
                table.rows.append((number, cells))
        elif _first_cell(cells) == first:
            table = _Table(sheet.title, number, cells)
        elif not all(_blank(c) for c in cells):
            raise RulesError(f"the first row must be the header, starting with {first!r}",
                             file=str(p), field=_where(sheet.title, number),
                             fix=f"put the header row ({first}, ...) from `connector rules "
                                 "export` back at the top")
    if table is None:
        raise RulesError(f"no header row starting with {first!r}", file=str(p),
                         field=_where(sheet.title, None),
                         fix=f"put the header row ({first}, ...) from `connector rules export` "
                             "back at the top")
    return table


def _read_xlsx(p: Path) -> tuple[_Table | None, _Table]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(p, data_only=True)
    except FileNotFoundError:
        raise RulesError("file not found", file=str(p), fix="check the path") from None
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RulesError(f"not an .xlsx workbook ({type(exc).__name__})", file=str(p),
                         fix="save it from the spreadsheet program as Excel Workbook (.xlsx)",
                         ) from None
    sheets = {name.strip().lower(): book[name] for name in book.sheetnames}
    if RULES_SHEET not in sheets:
        raise RulesError(f"no sheet named {RULES_SHEET!r} (sheets: "
                         f"{', '.join(book.sheetnames)})", file=str(p),
                         fix="name the sheet with the rules 'rules'")
    settings = sheets.get(SETTINGS_SHEET)
    return (_sheet_table(settings, "setting", p) if settings is not None else None,
            _sheet_table(sheets[RULES_SHEET], "id", p))


# --------------------------------------------------------------------------- decoding
class _Cells:
    """Decodes cells and raises RulesError naming file, sheet, row and column."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, message: str, fix: str, sheet: str | None, row: int | None,
              column: str | None = None, rule_id: Any = None) -> RulesError:
        return RulesError(message, file=str(self.path), field=_where(sheet, row, column, rule_id),
                          fix=fix)

    def columns(self, table: _Table, allowed: tuple[str, ...]) -> dict[str, int]:
        from openpyxl.utils import get_column_letter

        index: dict[str, int] = {}
        for i, raw in enumerate(table.header):
            name = "" if raw is None else str(raw).strip().lower()
            if not name:
                if any(i < len(cells) and not _blank(cells[i]) for _, cells in table.rows):
                    raise self.error(f"column {get_column_letter(i + 1)} has values but no "
                                     "header", "give it a header or delete the values",
                                     table.sheet, table.header_row)
                continue
            if name not in allowed:
                raise self.error(f"unknown column {raw!r}", "rename it to one of: "
                                 + ", ".join(allowed) + " (or delete the column)",
                                 table.sheet, table.header_row, str(raw))
            if name in index:
                raise self.error(f"column {name!r} appears twice", "delete one of them",
                                 table.sheet, table.header_row, name)
            index[name] = i
        return index

    def decode(self, raw: Any, kind: str, where: tuple[str | None, int, str, Any]) -> Any:
        """A cell's value for the model, or ``_UNSET`` for an empty cell."""
        if _blank(raw):
            return _UNSET
        if isinstance(raw, datetime | date | time):
            raw = raw.isoformat()
        if kind == TEXT:
            if isinstance(raw, bool):
                return "true" if raw else "false"
            return raw if isinstance(raw, str) else _csv_cell(raw)
        if kind == INT:
            if isinstance(raw, float) and raw.is_integer():
                return int(raw)
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and _INT_TEXT.match(raw.strip()):
                return int(raw.strip())
            raise self.error(f"{raw!r} is not a whole number", "write a whole number, e.g. 10",
                             *where)
        if kind == NUM:
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return raw
            text = str(raw).strip()
            if _INT_TEXT.match(text):
                return int(text)
            try:
                return float(text)
            except ValueError:
                raise self.error(f"{raw!r} is not a number", "write a number, e.g. 20 or 2.5",
                                 *where) from None
        if kind == BOOL:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("true", "yes", "1"):
                return True
            if text in ("false", "no", "0"):
                return False
            raise self.error(f"{raw!r} is not true or false", "write true or false", *where)
        return self._yaml(raw, kind, where)

    def _yaml(self, raw: Any, kind: str, where: tuple[str | None, int, str, Any]) -> Any:
        if not isinstance(raw, str):
            return [raw] if kind == LIST else raw
        text = raw.strip()
        if kind == LIST and not text.startswith("["):
            return [item.strip() for item in text.split(",") if item.strip()]
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "invalid"
            raise self.error(f"{raw!r} is not a YAML value ({problem})",
                             "quote text with single quotes, e.g. '10' or 'a: b'; "
                             "write lists as [a, b]", *where) from None
        if kind == LIST:
            if not isinstance(value, list):
                raise self.error(f"{raw!r} is not a list", "write [a, b] or a, b", *where)
            return value
        if value is None:
            return _UNSET
        if not isinstance(value, str | int | float | bool | list | dict):
            return text  # e.g. a date: compare as the text typed
        return value


# --------------------------------------------------------------------------- import
@dataclass
class _Context:
    settings_sheet: str | None = None
    settings_header: int | None = None
    rules_sheet: str | None = None
    rules_header: int = 0
    setting_rows: dict[str, int] = field(default_factory=dict)
    tier_rows: list[int] = field(default_factory=list)
    rule_rows: list[int] = field(default_factory=list)
    rule_ids: list[Any] = field(default_factory=list)


def import_sheet(path: str | Path) -> RulesModel:
    """Read a sheet written by :func:`export_csv` / :func:`export_xlsx` (and edited).

    Validates exactly like ``rules check``; every problem is a RulesError naming the file,
    the sheet, the row, the column and the fix.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        settings, rules = _read_csv(p)
    elif suffix == ".xlsx":
        settings, rules = _read_xlsx(p)
    else:
        raise RulesError(f"cannot read {suffix or 'a file without a suffix'} files", file=str(p),
                         fix="save the sheet as .xlsx (Excel Workbook) or .csv (CSV UTF-8)")
    cells = _Cells(p)
    ctx = _Context(rules_sheet=rules.sheet, rules_header=rules.header_row)
    data = _settings_data(settings, cells, ctx) if settings is not None else {}
    data["rules"] = _rules_data(rules, cells, ctx)
    try:
        return RulesModel.model_validate(data)
    except ValidationError as exc:
        raise _map_error(exc, data, ctx, cells) from None


def _settings_data(table: _Table, cells: _Cells, ctx: _Context) -> dict[str, Any]:
    ctx.settings_sheet, ctx.settings_header = table.sheet, table.header_row
    index = cells.columns(table, SETTINGS_COLUMNS)
    for needed in ("setting", "value"):
        if needed not in index:
            raise cells.error(f"the settings table has no {needed!r} column",
                              "use the header row: setting, value, from", table.sheet,
                              table.header_row)
    data: dict[str, Any] = {}
    tiers: list[dict[str, Any]] = []
    decay_off: int | None = None
    for number, row in table.rows:
        def cell(name: str, row: list[Any] = row) -> Any:
            i = index.get(name)
            return row[i] if i is not None and i < len(row) else None

        setting = "" if _blank(cell("setting")) else str(cell("setting")).strip().lower()
        if not setting:
            raise cells.error("a settings row without a setting name",
                              "write the setting in the first column, or delete the row",
                              table.sheet, number, "setting")
        if setting not in SETTING_KINDS:
            raise cells.error(f"unknown setting {cell('setting')!r}",
                              "use one of: " + ", ".join(SETTING_KINDS), table.sheet, number,
                              "setting")
        if setting != "tier" and not _blank(cell("from")):
            raise cells.error(f"only tier rows take a 'from' (this is {setting!r})",
                              "empty the 'from' cell", table.sheet, number, "from")
        if setting == "tier":
            name = cells.decode(cell("value"), TEXT, (table.sheet, number, "value", None))
            tier: dict[str, Any] = {"name": "" if name is _UNSET else name}
            start = cells.decode(cell("from"), INT, (table.sheet, number, "from", None))
            if start is not _UNSET:
                tier["from"] = start
            tiers.append(tier)
            ctx.tier_rows.append(number)
            continue
        if setting in ctx.setting_rows:
            raise cells.error(f"setting {setting!r} appears twice (also on row "
                              f"{ctx.setting_rows[setting]})", "keep one of the rows",
                              table.sheet, number, "setting")
        ctx.setting_rows[setting] = number
        value = cells.decode(cell("value"), SETTING_KINDS[setting],
                             (table.sheet, number, "value", None))
        if setting == "decay":
            word = "" if value is _UNSET else str(value).strip().lower()
            if word in ("off", "none", "no", "false"):
                decay_off = number
            elif word not in ("", "on", "yes", "true"):
                raise cells.error(f"decay {value!r} is not 'off'",
                                  "write off (no decay), or use the decay.points, decay.every, "
                                  "decay.applies_to and decay.min_total rows", table.sheet,
                                  number, "value")
            continue
        if value is _UNSET:
            if setting not in ("name", "description"):
                continue
            value = ""  # a settings row that is there but empty: empty text
        if "." in setting:
            group, key = setting.split(".", 1)
            data.setdefault(group, {})[key] = value
        else:
            data[setting] = value
    if decay_off is not None:
        if "decay" in data:
            first = min(v for k, v in ctx.setting_rows.items() if k.startswith("decay."))
            raise cells.error("decay is off, but this row sets it",
                              f"delete the decay.* rows or the 'decay off' row (row {decay_off})",
                              table.sheet, first, "setting")
        data["decay"] = None
    if tiers:
        data["tiers"] = tiers
    return data


def _rules_data(table: _Table, cells: _Cells, ctx: _Context) -> list[dict[str, Any]]:
    index = cells.columns(table, RULE_COLUMNS)
    if "id" not in index:
        raise cells.error("the rules table has no 'id' column", "keep the id column first",
                          table.sheet, table.header_row)
    rules = []
    for number, row in table.rows:
        rule_id = row[index["id"]] if index["id"] < len(row) else None
        item: dict[str, Any] = {}
        for name, i in index.items():
            raw = row[i] if i < len(row) else None
            value = cells.decode(raw, COLUMN_KINDS[name], (table.sheet, number, name, rule_id))
            if value is not _UNSET:
                item[name] = value
        rules.append(item)
        ctx.rule_rows.append(number)
        ctx.rule_ids.append(item.get("id"))
    return rules


_COLUMN_WORD = re.compile(r"(?<!\w)(" + "|".join(sorted(RULE_COLUMNS, key=len, reverse=True))
                          + r")(?!\w)")


def _map_error(exc: ValidationError, data: dict[str, Any], ctx: _Context,
               cells: _Cells) -> RulesError:
    err = exc.errors()[0]
    loc = error_loc(err)
    message = err.get("msg", "invalid").removeprefix("Value error, ")
    message, _, fix = message.partition("; fix: ")
    fix = fix or fix_for(dict(err), loc)
    if loc[:1] == ("rules",):
        if len(loc) < 2 or not isinstance(loc[1], int):
            return cells.error("the sheet has no rules", "add a rule row under the header row",
                               ctx.rules_sheet, ctx.rules_header, "id")
        i = loc[1]
        column = str(loc[2]) if len(loc) > 2 else None
        if column is None:
            match = _COLUMN_WORD.search(message)
            column = match.group(1) if match else None
        return cells.error(message, fix, ctx.rules_sheet, ctx.rule_rows[i], column,
                           ctx.rule_ids[i])
    sheet, rows = ctx.settings_sheet, ctx.setting_rows
    row: int | None = None
    column = "value"
    if loc[:1] == ("tiers",) and len(loc) > 1 and isinstance(loc[1], int):
        row = ctx.tier_rows[loc[1]] if loc[1] < len(ctx.tier_rows) else None
        column = "from" if loc[2:3] in (("from",), ("from_score",)) else "value"
    elif loc[:1] in (("range",), ("decay",)):
        keys = [".".join(str(p) for p in loc[:2])] if len(loc) > 1 else sorted(
            k for k in rows if k.startswith(f"{loc[0]}."))
        row = next((rows[k] for k in keys if k in rows), None)
    elif loc:
        row = rows.get(str(loc[0]))
    if row is None:
        row, column = ctx.settings_header, None
    return cells.error(message, fix, sheet, row, column)


# --------------------------------------------------------------------------- YAML
def yaml_text(model: RulesModel, source: str | None = None) -> str:
    """The model as rules YAML, noting the sheet it came from."""
    one_line = " ".join(str(source).split()) if source else ""
    return rules_yaml(model, f"Written by `connector rules import` from {one_line}."
                      if source else None)


def write_yaml(model: RulesModel, path: str | Path, source: str | None = None) -> Path:
    """Write the model as a rules YAML file."""
    p = Path(path)
    p.write_text(yaml_text(model, source), encoding="utf-8")
    return p


__all__ = ["RULE_COLUMNS", "SETTINGS_COLUMNS", "export_csv", "export_xlsx", "flow_yaml",
           "import_sheet", "to_rows", "write_yaml", "yaml_text"]
