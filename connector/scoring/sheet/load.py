"""Loading an edited sheet back into a rules model: the settings and rules rows become the
model's data, validated exactly like ``rules check``; a validation error points at the
sheet, row and column it came from. Also writes the result as rules YAML."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connector.errors import RulesError
from connector.scoring.rules import RulesModel
from connector.scoring.rules_errors import error_loc, fix_for
from connector.scoring.rules_file import rules_yaml
from connector.scoring.sheet.cells import UNSET, Cells
from connector.scoring.sheet.layout import (
    COLUMN_KINDS,
    INT,
    RULE_COLUMNS,
    SETTING_KINDS,
    SETTINGS_COLUMNS,
    TEXT,
    blank,
)
from connector.scoring.sheet.tables import Table, read_tables


@dataclass
class _Context:
    """Where each part of the model's data came from: a validation error names its cell."""

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
    settings, rules = read_tables(p)
    cells = Cells(p)
    ctx = _Context(rules_sheet=rules.sheet, rules_header=rules.header_row)
    data = _settings_data(settings, cells, ctx) if settings is not None else {}
    data["rules"] = _rules_data(rules, cells, ctx)
    try:
        return RulesModel.model_validate(data)
    except ValidationError as exc:
        raise _map_error(exc, data, ctx, cells) from None


def _settings_data(table: Table, cells: Cells, ctx: _Context) -> dict[str, Any]:
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

        setting = "" if blank(cell("setting")) else str(cell("setting")).strip().lower()
        if not setting:
            raise cells.error("a settings row without a setting name",
                              "write the setting in the first column, or delete the row",
                              table.sheet, number, "setting")
        if setting not in SETTING_KINDS:
            raise cells.error(f"unknown setting {cell('setting')!r}",
                              "use one of: " + ", ".join(SETTING_KINDS), table.sheet, number,
                              "setting")
        if setting != "tier" and not blank(cell("from")):
            raise cells.error(f"only tier rows take a 'from' (this is {setting!r})",
                              "empty the 'from' cell", table.sheet, number, "from")
        if setting == "tier":
            name = cells.decode(cell("value"), TEXT, (table.sheet, number, "value", None))
            tier: dict[str, Any] = {"name": "" if name is UNSET else name}
            start = cells.decode(cell("from"), INT, (table.sheet, number, "from", None))
            if start is not UNSET:
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
            word = "" if value is UNSET else str(value).strip().lower()
            if word in ("off", "none", "no", "false"):
                decay_off = number
            elif word not in ("", "on", "yes", "true"):
                raise cells.error(f"decay {value!r} is not 'off'",
                                  "write off (no decay), or use the decay.points, decay.every, "
                                  "decay.applies_to and decay.min_total rows", table.sheet,
                                  number, "value")
            continue
        if value is UNSET:
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


def _rules_data(table: Table, cells: Cells, ctx: _Context) -> list[dict[str, Any]]:
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
            if value is not UNSET:
                item[name] = value
        rules.append(item)
        ctx.rule_rows.append(number)
        ctx.rule_ids.append(item.get("id"))
    return rules


_COLUMN_WORD = re.compile(r"(?<!\w)(" + "|".join(sorted(RULE_COLUMNS, key=len, reverse=True))
                          + r")(?!\w)")


def _map_error(exc: ValidationError, data: dict[str, Any], ctx: _Context,
               cells: Cells) -> RulesError:
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
