"""Operational commands: sync, resync, run, status, leads."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from connector import logs, stopping
from connector.cli.app import app
from connector.cli.common import (
    EXIT_FAILED,
    EXIT_GUARD,
    EXIT_SIGNAL,
    EXIT_WORK_LEFT,
    cli_errors,
    console,
    err_console,
    pick,
    settings_and_clients,
    store_for,
    where_state_lives,
)
from connector.cli.leads_view import invite_queue, lead_dict, leaderboard, queue_table
from connector.sync.report import SyncReport

ConfigDir = typer.Option(None, "--config-dir", help="Folder of client YAML files "
                         "(default: CONNECTOR_CONFIG_DIR or config/clients).")
LogFormat = typer.Option(None, "--log-format", help="text or json (default: CONNECTOR_LOG_FORMAT).")


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed} contacts"), TimeElapsedColumn(),
                    console=console, transient=False)


def sync_with_progress(settings, client, store, *, full: bool, dry_run: bool,
                       stop: threading.Event | None = None,
                       show_progress: bool = True) -> SyncReport:
    """One client's sync (``connector.sync.sync_client``) with a progress bar; shared by
    sync, resync, run and demo."""
    from connector.sync.entrance import sync_client

    if not show_progress:
        return sync_client(client, settings, store, full=full, dry_run=dry_run, stop=stop)
    bar = _progress()  # shown once the job is built (a bad client file shows no bar)
    task = bar.add_task(f"{client.name}: pulling", total=None)

    def advance(stage: str, n: int) -> None:
        bar.update(task, advance=n, description=f"{client.name}: {stage}")

    try:
        return sync_client(client, settings, store, full=full, dry_run=dry_run, stop=stop,
                           progress=advance, ready=bar.start)
    finally:
        bar.stop()


def print_report(report: SyncReport, as_json: bool = False) -> None:
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    for line in report.first_sync_lines():  # a first sync says first what it did
        console.print(escape(line), highlight=False, soft_wrap=True)
    console.print(report.summary(), highlight=False)
    if report.took_over:
        console.print(f"  took over from a run that is gone ({report.took_over}); it is "
                      "marked interrupted", highlight=False, soft_wrap=True)
    if note := report.stop_note():
        console.print(f"  [yellow]{note}[/]", highlight=False, soft_wrap=True)
    for line in report.capabilities:
        console.print(f"  [yellow]capabilities:[/] {escape(line)}", highlight=False,
                      soft_wrap=True)
    for line in report.degraded:
        console.print(f"  [yellow]degraded:[/] {line}", highlight=False)
    for endpoint, count in sorted(report.retried.items()):
        console.print(f"  retried {count}x: {endpoint}", highlight=False)
    if report.left is None:  # else they are among the unknown actions listed below
        for line in report.unknown_actions:
            console.print(f"  [red]needs a person:[/] {line}", highlight=False)
    for line in report.held_notes():
        console.print(f"  [yellow]held:[/] {escape(line)}", highlight=False, soft_wrap=True)
    for line in report.warnings:
        console.print(f"  [yellow]warning:[/] {escape(line)}", highlight=False,
                      soft_wrap=True)
    errors = report.errors if report.left is not None else report.all_errors
    for line in errors[:20]:
        console.print(f"  [red]error:[/] {logs.mask(line)}", highlight=False)
    for line in report.left or []:
        state, _, rest = line.partition(": ")
        colour = "yellow" if state == "waiting" else "red"
        console.print(f"  [{colour}]{state}:[/] {escape(logs.mask(rest))}", highlight=False,
                      soft_wrap=True)
    if report.planned:
        console.print(f"  dry run: {len(report.planned)} planned changes, none made:")
        for line in report.planned:
            console.print(f"    {line}", highlight=False)


def _one(client_name: str, *, full: bool, dry_run: bool, config_dir: Path | None,
         log_format: str | None, as_json: bool) -> None:
    with cli_errors():
        settings, clients = settings_and_clients(config_dir, log_format)
        client = pick(clients, client_name)
        store = store_for(settings)
        stop = threading.Event()
        signals: list[int] = []

        def request_stop(signum: int) -> None:
            signals.append(signum)
            stop.set()
            err_console.print(f"{signal.Signals(signum).name}: stopping after the requests "
                              "in flight (again to quit at once)", highlight=False)

        with stopping.on_signals(request_stop):
            report = sync_with_progress(settings, client, store, full=full, dry_run=dry_run,
                                 stop=stop, show_progress=not as_json)
        print_report(report, as_json)
        code = exit_status(report, signals[0] if signals else signal.SIGINT)
        if (why := EXIT_WHY.get(code)) and not as_json:
            err_console.print(f"exit status {code}: {why}", highlight=False)
        raise typer.Exit(code)


EXIT_WHY = {EXIT_GUARD: "the run guard held actions for review (listed above)",
            EXIT_WORK_LEFT: "the run finished but left work undone (listed above)"}


def exit_status(report: SyncReport, signum: int = signal.SIGINT, *, guard: bool = True) -> int:
    """The exit status of a sync or resync (README.md, "Exit status"): the first that
    applies of stopped by a signal, failed, guard held (unless not ``guard``), work left
    undone, else 0."""
    if report.status == "interrupted":
        return EXIT_SIGNAL + signum
    if report.status == "failed":
        return EXIT_FAILED
    if guard and report.guard_tripped:
        return EXIT_GUARD
    if report.work_left:
        return EXIT_WORK_LEFT
    return 0


@app.command()
def sync(
    client: str = typer.Option(..., "--client", help="Client name (its config file's stem)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print planned writes and actions; "
                                 "change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    config_dir: Path | None = ConfigDir,
    log_format: str | None = LogFormat,
) -> None:
    """Incremental sync of one client: contacts changed since the last run."""
    _one(client, full=False, dry_run=dry_run, config_dir=config_dir, log_format=log_format,
         as_json=as_json)


@app.command()
def resync(
    client: str = typer.Option(..., "--client", help="Client name."),
    full: bool = typer.Option(False, "--full", help="Pull every contact and all engagement "
                              "again (required: a resync is always full)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print planned changes only."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    config_dir: Path | None = ConfigDir,
    log_format: str | None = LogFormat,
) -> None:
    """Full resync of one client: every contact rescored, only changed scores written."""
    if not full:
        console.print("resync needs --full (it pulls every contact and all engagement again)")
        raise typer.Exit(2)
    _one(client, full=True, dry_run=dry_run, config_dir=config_dir, log_format=log_format,
         as_json=as_json)


@app.command()
def run(
    config_dir: Path | None = ConfigDir,
    log_format: str | None = LogFormat,
    client: list[str] = typer.Option(None, "--client", help="Only these clients (repeatable)."),
    now: bool = typer.Option(False, "--now", help="Sync every client once at start, then "
                             "follow the schedules (default: the first run follows them)."),
    queue: str | None = typer.Option(None, "--queue", help="Redis URL: enqueue each due "
                                     "client for `connector worker` instead of syncing here "
                                     "(default: CONNECTOR_QUEUE_URL, if set)."),
) -> None:
    """Run every client on its schedule until SIGTERM / SIGINT.

    A stop ends each running sync between requests: what finished is saved, and each
    client's line says what was saved and what is left for the next run."""
    from connector.schedule.scheduler import Runner

    with cli_errors():
        settings, clients = settings_and_clients(config_dir, log_format)
        if client:
            from connector.config import ClientSet

            clients = ClientSet({name: pick(clients, name) for name in client})
        if not clients:
            from connector.errors import ConfigError

            raise ConfigError("no client file could be loaded", file=str(settings.config_dir),
                              fix="correct the files named above, or add one")
        store = store_for(settings)
        from connector.errors import ConfigError
        from connector.sync.runtime import client_runtime

        for cfg in list(clients.values()):  # validate tokens and rules once, before any call
            try:
                with client_runtime(cfg, settings, store):
                    pass
            except ConfigError as exc:  # this client cannot run; the others go on
                err_console.print(f"[yellow]warning:[/] client {cfg.name} is not run: "
                                  f"{escape(logs.mask(str(exc)))}", highlight=False,
                                  soft_wrap=True)
                del clients[cfg.name]
        if not clients:
            raise ConfigError("no client can run", file=str(settings.config_dir),
                              fix="correct the problems named above")
        if url := queue or settings.queue_url:
            from connector.cli.queue_cmds import produce

            produce(clients, settings, url, now=now)
            return

        last: dict[str, SyncReport] = {}

        def run_one(name: str, stop: threading.Event) -> None:
            from connector.errors import ConnectorError, LeaseHeld

            started = datetime.now(UTC)
            try:
                report = sync_with_progress(settings, clients[name], store, full=False,
                                            dry_run=False, stop=stop, show_progress=False)
                last[name] = report
                print_report(report)
            except LeaseHeld as exc:
                console.print(f"[yellow]skipped:[/] {exc}", highlight=False)
            except Exception as exc:  # one line (client, what failed, fix); the others go on
                bug = not isinstance(exc, ConnectorError)
                what = logs.mask(f"{type(exc).__name__}: {exc}" if bug else str(exc))
                last[name] = SyncReport(client=name, kind="sync", started_at=started,
                                        status="failed", errors=[what])
                console.print(f"{escape(name)}: [red]failed:[/] {escape(what)}"
                              + (" (a bug: the traceback is in the log)" if bug else ""),
                              highlight=False, soft_wrap=True)
                if bug:
                    raise  # the scheduler logs the traceback

        runner = Runner(clients, run_one, first_run_now=now)
        console.print(f"running {len(clients)} client(s): {', '.join(clients)}; "
                      "stop with Ctrl-C or SIGTERM")
        runner.serve_forever(on_started=lambda: _print_next_runs(runner.next_runs(), now))
        _print_stopped(list(clients), last, store)


def _print_next_runs(next_runs: dict, now: bool) -> None:
    if now:
        console.print("  --now: every client syncs now, then on its schedule")
        return
    for name, when in sorted(next_runs.items()):
        at = when.isoformat(sep=" ", timespec="minutes") if when else "not scheduled"
        console.print(f"  {name}: first run {at} (its schedule; --now runs at start)",
                      highlight=False, soft_wrap=True)


def _print_stopped(names: list[str], last: dict[str, SyncReport], store) -> None:
    """Per client, what the stop left: the truth, not a blanket "bookmarks saved"."""
    console.print("stopped cleanly (no sync left running); per client:")
    for name in names:
        report = last.get(name)
        if report is None:
            console.print(f"  {name}: no run in this session", highlight=False,
                          soft_wrap=True)
            continue
        if report.interrupted:
            console.print(f"  {name}: interrupted; {report.stop_note()}", highlight=False,
                          soft_wrap=True)
            continue
        if report.status == "failed":
            at = report.started_at.isoformat(sep=" ", timespec="seconds")
            console.print(f"  {name}: last run failed ({at}): "
                          f"{escape(report.errors[0] if report.errors else 'see the log')}",
                          highlight=False, soft_wrap=True)
            continue
        try:
            outbox = store.outbox(name, ["pending", "failed", "unknown"])
        except Exception:  # the summary never hides the stop itself
            outbox = []
        pending = sum(e.status == "pending" for e in outbox)
        saved = (f"bookmark saved ({report.bookmark.isoformat()})"
                 if report.bookmark_saved and report.bookmark else "bookmark not moved")
        left = f"{pending} action(s) pending" if pending else "no action pending"
        for state in ("failed", "unknown"):
            if count := sum(e.status == state for e in outbox):
                left += f", {count} {state}"
        if report.work_left or len(outbox) > pending:
            left += f" (work left undone: see `connector actions list --client {name}`)"
        console.print(f"  {name}: last run {report.status}, finished before the stop; "
                      f"{saved}; {left}", highlight=False, soft_wrap=True)


@app.command()
def status(
    config_dir: Path | None = ConfigDir,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Last runs, counts, errors, pending and unknown actions, skipped records per client."""
    with cli_errors():
        settings, clients = settings_and_clients(config_dir)
        store = store_for(settings)
        from connector.sync.status import status as status_of

        summary = status_of(store)
        summary["broken_client_files"] = {p: str(e) for p, e in clients.broken.items()}
        if as_json:
            console.print_json(json.dumps(summary, default=str))
            return
        console.print(f"state: {where_state_lives(settings)}")
        _print_status(summary, clients)
        for error in summary["broken_client_files"].values():
            console.print(f"[red]broken client file (not synced):[/] "
                          f"{escape(logs.mask(error))}", highlight=False)


def _print_status(summary: dict, clients: dict) -> None:
    from connector.cli.status_view import print_status

    print_status(console, summary, clients)


@app.command()
def leads(
    client: str = typer.Option(..., "--client", help="Client name."),
    top: int | None = typer.Option(None, "--top", min=1, help="How many leads (default: 20; "
                                   "with --already-warm: all)."),
    already_warm: bool = typer.Option(False, "--already-warm", help="Only the leads already "
                                      "warm when the client was first synced (first_sync: "
                                      "baseline), never invited: hand them to sales."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    config_dir: Path | None = ConfigDir,
) -> None:
    """Who to call today: the client's top leads by score, with tier and interests."""
    with cli_errors():
        settings, clients = settings_and_clients(config_dir)
        pick(clients, client)
        store = store_for(settings)
        if already_warm:
            rows = store.already_warm(client, top)
            if as_json:
                console.print_json(json.dumps([lead_dict(r) for r in rows], default=str))
                return
            console.print(leaderboard(client, rows, title=(
                f"{client}: {len(rows)} lead(s) already warm at the first sync, never "
                "invited (first_sync: baseline)")))
            return
        rows = store.top_contacts(client, top or 20)
        waiting = invite_queue(store, client)
        if as_json:
            console.print_json(json.dumps([lead_dict(r) for r in rows], default=str))
            return
        console.print(leaderboard(client, rows))
        if waiting:
            console.print(queue_table(client, waiting))
