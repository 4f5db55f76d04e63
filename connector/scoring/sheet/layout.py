"""The sheet's layout: its two tables, their columns, the kind of value each column
holds, and how a place in the sheet is named in messages."""

from __future__ import annotations

import types
import typing
from typing import Any

from connector.scoring.rules import Rule

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


def blank(value: Any) -> bool:
    """An empty cell (nothing, or only spaces) means "not set"."""
    return value is None or (isinstance(value, str) and not value.strip())


def place(sheet: str | None, row: int | None, column: str | None = None,
          rule_id: Any = None) -> str:
    """A place in the sheet, in words: "sheet 'rules', row 4, rule 'x', column 'points'"."""
    parts = [f"sheet {sheet!r}"] if sheet else []
    if row is not None:
        parts.append(f"row {row}")
    if isinstance(rule_id, str) and rule_id.strip():
        parts.append(f"rule {rule_id.strip()!r}")
    if column:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


def cell_text(value: Any) -> str:
    """A cell as text: empty for None, floats without loss."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
