"""`connector demo` and `connector sandbox`."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from connector.cli.app import app
from connector.cli.common import cli_errors, console, err_console, need_extra, output_path
from connector.errors import ConfigError

if TYPE_CHECKING:
    from connector.sandbox.local import LocalSandboxes


@app.command()
def demo(
    contacts: int = typer.Option(300, "--contacts", min=10, max=20_000,
                                 help="Contacts in the sandbox portal."),
    state: Path = typer.Option(Path("connector-demo.db"), "--state",
                               help="SQLite file for the demo's state (recreated)."),
) -> None:
    """Sandbox CRM + local SMTP sink + a full sync: who to call today, invites sent."""
    need_extra("demo")
    from connector.cli.demo_run import run_demo, state_command
    from connector.cli.leads_view import leaderboard
    from connector.cli.sync_cmds import (
        EXIT_WHY,
        exit_status,
        print_report,
        sync_with_progress,
    )

    with cli_errors():
        output_path(state, "--state", create=True)
        console.rule("connector demo")
        console.print(f"starting the HubSpot and ActiveCampaign sandboxes with {contacts} "
                      "seeded contacts each and a local SMTP sink")
        result = run_demo(contacts, state, lambda s, c, st: sync_with_progress(
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
    crm: str = typer.Option("both", "--crm",
                            help="hubspot, activecampaign or both (each on its own port)."),
    smtp: bool = typer.Option(False, "--smtp",
                              help="Also run the SMTP sink (prints every message it gets)."),
    contacts: int = typer.Option(200, "--contacts", min=1,
                                 help="Seeded contacts (the same people in each CRM)."),
    seed: int = typer.Option(7, "--seed", help="Population seed."),
    port: int = typer.Option(8765, "--port", help="HubSpot sandbox port."),
    ac_port: int = typer.Option(8766, "--ac-port", help="ActiveCampaign sandbox port."),
    smtp_port: int = typer.Option(8025, "--smtp-port", help="SMTP sink port."),
    plan: str = typer.Option("enterprise", "--plan", help="HubSpot plan: starter or enterprise."),
) -> None:
    """Serve the CRM sandboxes (and the SMTP sink) on loopback until Ctrl-C, on the ports
    the example clients use; prints what to set for each."""
    need_extra("sandbox")
    from connector.config import load_settings
    from connector.sandbox.local import (
        CRMS,
        LocalSandboxes,
        PortInUse,
        example_clients,
        instructions,
    )

    with cli_errors():
        if crm not in CRMS:
            raise ConfigError(f"--crm {crm!r} is not one of {', '.join(CRMS)}", field="--crm",
                              fix="use --crm hubspot, --crm activecampaign or --crm both")
        config_dir = Path(load_settings().config_dir)
        boxes = LocalSandboxes(crm=crm, smtp=smtp, contacts=contacts, seed=seed, plan=plan,
                               hubspot_port=port, ac_port=ac_port, smtp_port=smtp_port)
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(boxes)
        except PortInUse as exc:
            raise ConfigError(str(exc), field=exc.option, fix="stop what holds the port "
                              "(another `connector sandbox`?) or give another port") from None
        with stack:
            clients = example_clients(config_dir)
            for served in boxes.served:
                console.print(f"{served.name} on {served.url}"
                              + (f" ({contacts} contacts)" if served.kind else ""),
                              highlight=False, soft_wrap=True)
                for line in instructions(served, clients):
                    console.print(f"  {line}", highlight=False, soft_wrap=True)
            if not smtp:
                console.print("no SMTP sink (--smtp runs one on 127.0.0.1:"
                              f"{smtp_port}): invites to the example clients' SMTP stay "
                              "pending", highlight=False, soft_wrap=True)
            console.print("Ctrl-C stops them.", highlight=False)
            _serve_until_stopped(boxes)
        console.print("stopped")


def _serve_until_stopped(boxes: LocalSandboxes) -> None:
    """Print each message the SMTP sink receives until Ctrl-C or SIGTERM."""
    import signal

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started with SIGINT ignored (`... &`)
    printed = 0
    try:
        while True:
            time.sleep(0.5)
            messages = boxes.sink.messages if boxes.sink is not None else []
            for msg in messages[printed:]:
                console.print(f"mail: to {msg['To']} from {msg['From']}: {msg['Subject']}",
                              highlight=False, soft_wrap=True)
            printed = len(messages)
    except KeyboardInterrupt:
        pass
