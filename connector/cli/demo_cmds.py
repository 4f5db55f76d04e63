"""`connector demo` and `connector sandbox`."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from connector.cli.app import app
from connector.cli.common import cli_errors, console, err_console, need_extra, output_path


@app.command()
def demo(
    contacts: int = typer.Option(300, "--contacts", min=10, max=20_000,
                                 help="Contacts in the sandbox portal."),
    state: Path = typer.Option(Path("connector-demo.db"), "--state",
                               help="SQLite file for the demo's state (recreated)."),
) -> None:
    """Sandbox CRM + local SMTP sink + a full sync: who to call today, invites sent."""
    need_extra("demo")
    from connector.cli.sync_cmds import (
        EXIT_WHY,
        exit_status,
        leaderboard,
        print_report,
        sync_client,
    )
    from connector.demo import run_demo, state_command

    with cli_errors():
        output_path(state, "--state", create=True)
        console.rule("connector demo")
        console.print(f"starting the HubSpot and ActiveCampaign sandboxes with {contacts} "
                      "seeded contacts each and a local SMTP sink")
        result = run_demo(contacts, state, lambda s, c, st: sync_client(
            s, c, st, full=False, dry_run=False))
        for report in result.reports:
            print_report(report)
        table = Table(title=f"invites sent in the salesperson's name ({len(result.invites)})")
        for column in ("to", "from", "reply-to", "subject"):
            table.add_column(column)
        for msg in result.invites[:10]:
            table.add_row(msg["To"], msg["From"], msg["Reply-To"], msg["Subject"])
        console.print(table)
        for report in result.reports:  # part of the demo: say what a real run does
            if report.guard_tripped:
                result.notes.append(
                    f"the run guard held {report.counts['actions_held_guard']} action(s) of "
                    f"{report.client} for review, as on any client's run that would act on "
                    "too many contacts at once (a real `connector sync` then exits with "
                    "status 4); see them with: " + state_command(
                        state, f"actions list --client {report.client} --status held"))
        for note in result.notes:
            console.print(f"[yellow]note:[/] {escape(note)}", highlight=False,
                          soft_wrap=True)
        console.print(f"state lives in {result.state_path}; next, try: "
                      + escape(state_command(state, "leads --client acme-hubspot")),
                      highlight=False, soft_wrap=True)
        for name, rows in result.leaders.items():
            console.print(leaderboard(name, rows))
        # the demo's own status is a sync's, except the guard, which the note explains
        code = next((c for r in result.reports if (c := exit_status(r, guard=False))), 0)
        if why := EXIT_WHY.get(code):
            err_console.print(f"exit status {code}: {why}", highlight=False)
        raise typer.Exit(code)


@app.command()
def sandbox(
    contacts: int = typer.Option(1000, "--contacts", min=1, help="Seeded contacts."),
    seed: int = typer.Option(7, "--seed", help="Population seed."),
    port: int = typer.Option(8765, "--port", help="HubSpot sandbox port."),
    plan: str = typer.Option("enterprise", "--plan", help="starter or enterprise."),
) -> None:
    """Serve the HubSpot sandbox on loopback until Ctrl-C (point a client's base_url at it)."""
    need_extra("sandbox")
    from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
    from connector.sandbox.population import Population
    from connector.sandbox.server import Server

    app_ = HubSpotSandbox()
    app_.add_account("pat-sandbox-token", HubSpotAccount("sandbox", Population(contacts, seed),
                                                         plan=plan))
    with Server(app_, port=port) as server:
        console.print(f"HubSpot sandbox on {server.url} with {contacts} contacts; token: "
                      "pat-sandbox-token (e.g. export HUBSPOT_TOKEN_ACME=pat-sandbox-token). "
                      "Ctrl-C stops it.")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            console.print("stopped")
