"""Decoding one cell into the value the model takes (text, number, true/false, a YAML
value or a list); a cell that cannot be read is a RulesError naming its file, sheet, row
and column."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from connector.errors import RulesError
from connector.scoring.sheet.layout import BOOL, INT, LIST, NUM, TEXT, blank, cell_text, place
from connector.scoring.sheet.tables import Table

_INT_TEXT = re.compile(r"^[+-]?\d+$")
UNSET = object()  # what an empty cell decodes to: "not set"


class Cells:
    """Decodes cells and raises RulesError naming file, sheet, row and column."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, message: str, fix: str, sheet: str | None, row: int | None,
              column: str | None = None, rule_id: Any = None) -> RulesError:
        return RulesError(message, file=str(self.path), field=place(sheet, row, column, rule_id),
                          fix=fix)

    def columns(self, table: Table, allowed: tuple[str, ...]) -> dict[str, int]:
        from openpyxl.utils import get_column_letter

        index: dict[str, int] = {}
        for i, raw in enumerate(table.header):
            name = "" if raw is None else str(raw).strip().lower()
            if not name:
                if any(i < len(cells) and not blank(cells[i]) for _, cells in table.rows):
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
        """A cell's value for the model, or ``UNSET`` for an empty cell."""
        if blank(raw):
            return UNSET
        if isinstance(raw, datetime | date | time):
            raw = raw.isoformat()
        if kind == TEXT:
            if isinstance(raw, bool):
                return "true" if raw else "false"
            return raw if isinstance(raw, str) else cell_text(raw)
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
            return UNSET
        if not isinstance(value, str | int | float | bool | list | dict):
            return text  # e.g. a date: compare as the text typed
        return value
