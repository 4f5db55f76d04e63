"""`connector worker`: run syncs from the queue (Celery on Redis) until stopped."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import typer
from rich.markup import escape

from connector.cli.app import app
from connector.cli.common import cli_errors, err_console, settings_and_clients
from connector.config import ClientConfig, Settings

MISSING_EXTRA = ("the queue needs Celery: pip install 'connector[queue]' "
                 "(in a checkout: pip install -e '.[queue]')")


def queue_url(option: str | None, setting: str | None, flag: str) -> str:
    """The broker URL from the option or CONNECTOR_QUEUE_URL; a clear error if neither."""
    from connector.errors import ConfigError

    url = option or setting
    if not url:
        raise ConfigError("no queue given", field=f"{flag} / CONNECTOR_QUEUE_URL",
                          fix=f"pass {flag} redis://127.0.0.1:6379/0 or set "
                              "CONNECTOR_QUEUE_URL")
    return url


def load_queue() -> ModuleType:
    """connector.queue.app, or a ConfigError naming the extra to install."""
    from connector.errors import ConfigError

    try:
        from connector.queue import app as queue_app
        from connector.queue import tasks  # noqa: F401 - registers the sync task
    except ImportError:
        raise ConfigError("Celery is not installed", fix=MISSING_EXTRA) from None
    return queue_app


@app.command()
def worker(
    broker: str | None = typer.Option(None, "--broker", help="Redis URL of the queue "
                                      "(default: CONNECTOR_QUEUE_URL)."),
    concurrency: int = typer.Option(1, "--concurrency", min=1, help="Syncs at once in this "
                                    "worker (1: one process; more: a pool of processes)."),
    config_dir: Path | None = typer.Option(None, "--config-dir", help="Folder of client YAML "
                                           "files (default: CONNECTOR_CONFIG_DIR)."),
    log_format: str | None = typer.Option(None, "--log-format", help="text or json."),
) -> None:
    """Take sync tasks from the queue (`connector run --queue` enqueues them) until
    SIGTERM / SIGINT. Run one per core or machine; all share the PostgreSQL state
    (CONNECTOR_STATE_URL). A client is never synced by two workers at once, and the task
    of a worker that dies is taken by another."""
    with cli_errors():
        settings, clients = settings_and_clients(config_dir, log_format)
        url = queue_url(broker, settings.queue_url, "--broker")
        queue_app = load_queue()
        from connector.queue import tasks

        if settings.state_url.startswith("sqlite"):
            err_console.print("[yellow]warning:[/] state is SQLite: workers on other "
                              "machines cannot share it; use PostgreSQL "
                              "(CONNECTOR_STATE_URL=postgresql+psycopg://...)",
                              highlight=False, soft_wrap=True)
        tasks.use_settings(settings)
        tasks.preload({c.crm.kind for c in clients.values()})
        queue_app.ping(url, settings.queue_visibility_timeout, settings.queue_name)
        celery = queue_app.app
        err_console.print(f"worker: syncs from {escape(queue_app.safe_url(url))}, state in "
                          f"{escape(queue_app.safe_url(settings.state_url))}",
                          highlight=False, soft_wrap=True)
    pool = "solo" if concurrency == 1 else "prefork"
    celery.worker_main(["worker", "--pool", pool, "--concurrency", str(concurrency),
                        "--queues", settings.queue_name, "--loglevel", settings.log_level,
                        "--hostname", f"connector-{os.getpid()}@{socket.gethostname()}",
                        "--without-gossip", "--without-mingle"])


def produce(clients: Mapping[str, ClientConfig], settings: Settings, url: str, *,
            now: bool) -> None:
    """`connector run --queue`: the scheduler enqueues one sync task per due client (the
    workers run them) until SIGTERM / SIGINT."""
    from connector.cli.common import console
    from connector.schedule.scheduler import Runner

    queue_app = load_queue()
    queue_app.ping(url, settings.queue_visibility_timeout, settings.queue_name)
    from connector.queue.producer import Producer

    runner = Runner(clients, Producer(clients), first_run_now=now)
    console.print(f"queueing {len(clients)} client(s) on {escape(queue_app.safe_url(url))} "
                  f"for `connector worker`: {', '.join(clients)}; stop with Ctrl-C or SIGTERM",
                  highlight=False, soft_wrap=True)
    runner.serve_forever()
    console.print("stopped; tasks already queued stay queued for the workers")
