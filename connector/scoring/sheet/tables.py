"""Finding the sheet's two tables (settings, rules) in a CSV file or an XLSX workbook:
the header rows and the rows under them, as raw cells with their row numbers."""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.errors import RulesError
from connector.scoring.sheet.layout import RULES_SHEET, SETTINGS_SHEET, blank, place


@dataclass
class Table:
    """One table: where its header is, the header, and its non-empty rows (numbered)."""

    sheet: str | None
    header_row: int
    header: list[Any]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def read_tables(p: Path) -> tuple[Table | None, Table]:
    """The settings table (None when the sheet has none) and the rules table of ``p``."""
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return _read_csv(p)
    if suffix == ".xlsx":
        return _read_xlsx(p)
    raise RulesError(f"cannot read {suffix or 'a file without a suffix'} files", file=str(p),
                     fix="save the sheet as .xlsx (Excel Workbook) or .csv (CSV UTF-8)")


def _first_cell(cells: list[Any]) -> str:
    return str(cells[0]).strip().lower() if cells and cells[0] is not None else ""


def _read_csv(p: Path) -> tuple[Table | None, Table]:
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
    settings: Table | None = None
    rules: Table | None = None
    for number, cells in enumerate(records, 1):
        first = _first_cell(cells)
        if rules is not None:
            if not all(blank(c) for c in cells):
                rules.rows.append((number, cells))
        elif first == "id":
            rules = Table(None, number, cells)
        elif first == "setting" and settings is None:
            settings = Table(None, number, cells)
        elif all(blank(c) for c in cells):
            continue
        elif settings is not None:
            settings.rows.append((number, cells))
        else:
            raise RulesError("a row before any header row", file=str(p), field=place(None, number),
                             fix="start with the header row 'setting, value, from' or the rules "
                                 "header 'id, description, points, ...'")
    if rules is None:
        raise RulesError("no rules table: no row starts with the header 'id'", file=str(p),
                         fix="keep the rules header row (id, description, points, ...) that "
                             "`connector rules export` writes")
    return settings, rules


def _sheet_table(sheet: Any, first: str, p: Path) -> Table:
    table: Table | None = None
    for number, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1):
        cells = list(row)
        if table is not None:
            if not all(blank(c) for c in cells):
                table.rows.append((number, cells))
        elif _first_cell(cells) == first:
            table = Table(sheet.title, number, cells)
        elif not all(blank(c) for c in cells):
            raise RulesError(f"the first row must be the header, starting with {first!r}",
                             file=str(p), field=place(sheet.title, number),
                             fix=f"put the header row ({first}, ...) from `connector rules "
                                 "export` back at the top")
    if table is None:
        raise RulesError(f"no header row starting with {first!r}", file=str(p),
                         field=place(sheet.title, None),
                         fix=f"put the header row ({first}, ...) from `connector rules export` "
                             "back at the top")
    return table


def _read_xlsx(p: Path) -> tuple[Table | None, Table]:
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
