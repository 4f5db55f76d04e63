"""`rules export` / `rules import`: the scoring model as a spreadsheet (CSV or XLSX)."""

from __future__ import annotations

from pathlib import Path

import typer

from connector.cli.common import cli_errors, console, output_path
from connector.cli.rules_cmds import rules_app, summary
from connector.errors import ConfigError
from connector.scoring import load_rules
from connector.scoring.sheet import export_csv, export_xlsx, import_sheet, write_yaml

FORMATS = ("csv", "xlsx")


def _format(fmt: str | None, out: Path | None) -> str:
    if fmt is None:
        suffix = out.suffix.lower().lstrip(".") if out is not None else ""
        return suffix if suffix in FORMATS else "xlsx"
    if fmt.lower() not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not csv or xlsx", field="--format",
                          fix="use --format xlsx (Excel) or --format csv")
    return fmt.lower()


@rules_app.command("export")
def rules_export(
    file: Path = typer.Argument(..., help="The rules YAML file."),
    fmt: str | None = typer.Option(None, "--format", "-f",
                                   help="csv or xlsx (default: from --out, else xlsx)."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="The sheet to write (default: FILE's name with "
                                         ".xlsx/.csv, in the working directory)."),
) -> None:
    """Write the scoring model as a spreadsheet to edit and share (by default into the
    working directory, where `rules import` then finds it)."""
    with cli_errors():
        kind = _format(fmt, out)
        model = load_rules(file)
        # the working directory, not beside FILE: the sheet is for people to open and
        # `rules import default.xlsx` (as the README shows) to find where they are
        target = out or Path(file.with_suffix(f".{kind}").name)
        if target.suffix.lower() != f".{kind}":
            raise ConfigError(f"--out {target} does not end in .{kind}", field="--out",
                              fix=f"name the file *.{kind}, or change --format")
        output_path(target, "--out")
        (export_csv if kind == "csv" else export_xlsx)(model, target)
        console.print(f"wrote {target.resolve()} ({len(model.rules)} rules"
                      + (", sheets 'rules' and 'settings')" if kind == "xlsx" else ")"),
                      highlight=False, soft_wrap=True)


@rules_app.command("import")
def rules_import(
    sheet: Path = typer.Argument(..., help="The spreadsheet (.xlsx or .csv)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="The rules YAML file to write."),
    check: bool = typer.Option(False, "--check", help="Only validate; write nothing."),
) -> None:
    """Read a spreadsheet back into a rules YAML file (validated like `rules check`)."""
    with cli_errors():
        if out is None and not check:
            raise ConfigError("give --out RULES.yaml (or --check to only validate)",
                              field="rules import", fix="connector rules import SHEET --out "
                                                        "RULES.yaml")
        if out is not None and not check:
            output_path(out, "--out")
        model = import_sheet(sheet)
        console.print(summary(sheet, model), highlight=False, soft_wrap=True)
        if out is not None and not check:
            write_yaml(model, out, source=sheet.name)
            console.print(f"wrote {out}", highlight=False, soft_wrap=True)
