"""``connector doctor``: every vendor assumption checked against the live account."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from connector import logs
from connector.cli.app import app
from connector.cli.common import EXIT_FAILED, cli_errors, console, pick, settings_and_clients

MARKS = {"ok": "[green]ok[/]", "fallback": "[yellow]fallback[/]", "fail": "[red]FAIL[/]"}


@app.command()
def doctor(
    client: str = typer.Option(..., "--client", help="Client name (its config file's stem)."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
    config_dir: Path | None = typer.Option(None, "--config-dir", help="Folder of client "
                                           "YAML files."),
) -> None:
    """Check the client's CRM account, token, properties, streams, limits, clock and SMTP.

    Read-only: at most 30 CRM calls, no write, no mail. One row per check: what was seen,
    what connector will do about it, and the fix. Exit 0 when every check holds, else 1."""
    from connector.doctor import examine, exit_code

    with cli_errors():
        settings, clients = settings_and_clients(config_dir)
        cfg = pick(clients, client)
        from connector.cli.common import store_for

        rows = examine(cfg, store_for(settings))
        code = exit_code(rows)
        if as_json:
            console.print_json(json.dumps({"client": cfg.name, "ok": code == 0,
                                           "rows": [r.as_dict() for r in rows]}))
        else:
            for row in rows:
                console.print(f"{MARKS.get(row.status, row.status)} {escape(row.check)}: "
                              f"{escape(logs.mask(row.seen))}", highlight=False,
                              soft_wrap=True)
                console.print(f"    connector: {escape(row.action)}", highlight=False,
                              soft_wrap=True)
                if row.fix:
                    console.print(f"    fix: {escape(row.fix)}", highlight=False,
                                  soft_wrap=True)
            held = sum(r.holds for r in rows)
            console.print(f"{cfg.name}: {held} of {len(rows)} checks hold", highlight=False)
        if code:
            raise typer.Exit(EXIT_FAILED)
