"""The tasks a worker runs: one incremental sync of one client (``sync_client``), or one
targeted sync of the contacts webhooks marked dirty (``sync_dirty_contacts``, from
`connector serve --queue`).

The client's lease in the state store keeps a client single-run across workers: a task
that finds a live run holding it is retried later (``RETRIES`` times, then left to the
next scheduled run); a lease whose holder is gone (a worker killed mid-sync) is taken
over at once, that run marked interrupted, and its work picked up where its last commit
left it. The outbox keeps invites exactly once across workers as it does across runs.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from celery import signals

from connector import logs
from connector.config import Settings, load_client, load_settings
from connector.errors import ConfigError, ConnectorError, LeaseHeld
from connector.queue.app import app
from connector.store.base import Store

log = logging.getLogger("connector.queue")

TASK = "connector.sync"
TARGETED_TASK = "connector.sync_dirty"
RETRIES = 3
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

_settings: Settings | None = None
_stores: dict[str, Store] = {}
_running: set[threading.Event] = set()
_lock = threading.Lock()


def use_settings(settings: Settings) -> None:
    """The settings tasks run with (`connector worker` sets them; default: environment)."""
    global _settings
    _settings = settings


def preload(kinds: Iterable[str]) -> None:
    """Import the sync and the adapters of ``kinds`` when the worker starts (before a pool
    forks), so its first task does not pay for them: a webhook's targeted sync is waited
    for (the HubSpot SDK alone takes seconds to import on a busy machine)."""
    from connector.crm import registry
    from connector.sync import entrance, targeted  # noqa: F401 - imported for their cost

    for kind in kinds:
        registry.adapter_for(kind)


def _store(settings: Settings) -> Store:
    """One store (one connection pool) per worker process."""
    from connector.store import open_store

    with _lock:
        if settings.state_url not in _stores:
            _stores[settings.state_url] = open_store(settings.state_url)
        return _stores[settings.state_url]


@app.task(bind=True, name=TASK, acks_late=True, reject_on_worker_lost=True)
def sync_client(self: Any, client: str, due_at: str | None = None) -> dict[str, Any]:
    """Sync ``client`` (its config file's stem); ``due_at``: when the scheduler found it due."""

    def scheduled(cfg: Any, settings: Settings, store: Store,
                  stop: threading.Event) -> dict[str, Any]:
        report = _run(cfg, settings, store, stop)
        lag = _lag(due_at, report.finished_at)
        log.info("client %s: %s%s", client, report.summary(),
                 f" (done {lag:.1f} s after due)" if lag is not None else "")
        return {"client": client, "status": report.status, "lag_seconds": lag,
                "took_over": _took_over(client, report)}

    return _task(self, client, scheduled)


@app.task(bind=True, name=TARGETED_TASK, acks_late=True, reject_on_worker_lost=True)
def sync_dirty_contacts(self: Any, client: str) -> dict[str, Any]:
    """A targeted sync of ``client``'s dirty contacts (`connector serve --queue` enqueues it
    when a burst of webhooks is over): the marks are read here, and stay in the state store
    until this sync recorded their contacts, so a worker killed during it leaves them to the
    task handed out again (or the client's next one)."""

    def targeted(cfg: Any, settings: Settings, store: Store,
                 stop: threading.Event) -> dict[str, Any]:
        from connector.sync.targeted import sync_dirty

        dirty = store.dirty_contacts(client)
        if not dirty:  # an earlier task (or the dirty-set poll) synced them already
            return {"client": client, "status": "nothing dirty"}
        with logs.context(cfg.name):
            run = sync_dirty(cfg, settings, store, dirty, stop=stop)
        log.info("client %s: %s of %d dirty contacts (done %.1f s after the first mark)",
                 client, run.report.summary(), run.contacts, run.lag or 0.0)
        return {"client": client, "status": run.report.status, "contacts": run.contacts,
                "lag_seconds": run.lag, "took_over": _took_over(client, run.report)}

    return _task(self, client, targeted)


def _task(task: Any, client: str,
          sync: Callable[[Any, Settings, Store, threading.Event], dict[str, Any]],
          ) -> dict[str, Any]:
    """What both tasks share: the client's file, the store, a stop for SIGTERM, and a
    client held by a live run retried later (``RETRIES`` times, then left to the next)."""
    settings = _settings or load_settings()
    if not _NAME.fullmatch(client):
        log.error("task for %r ignored: not a client name", client)
        return {"client": client, "status": "config error"}
    try:
        cfg = load_client(Path(settings.config_dir) / f"{client}.yaml")
    except ConfigError as exc:
        log.error("client %s is not synced: %s", client, logs.mask(str(exc)))
        return {"client": client, "status": "config error"}
    store = _store(settings)
    stop = threading.Event()
    with _lock:
        _running.add(stop)
    try:
        return sync(cfg, settings, store, stop)
    except LeaseHeld as exc:
        if task.request.retries >= RETRIES:
            log.warning("client %s skipped: %s (the next scheduled run syncs it)", client, exc)
            return {"client": client, "status": "skipped"}
        wait = max(10, settings.lease_seconds // 3)
        log.info("client %s is busy (%s); retrying in %d s", client, exc, wait)
        raise task.retry(countdown=wait, max_retries=RETRIES) from None
    except ConnectorError as exc:  # recorded in the run; the next scheduled run tries again
        log.error("sync of client %s failed: %s", client, logs.mask(str(exc)))
        return {"client": client, "status": "failed"}
    finally:
        with _lock:
            _running.discard(stop)


def _took_over(client: str, report: Any) -> str | None:
    if report.took_over:
        log.warning("client %s: took over from a worker that is gone (%s)", client,
                    report.took_over)
    return report.took_over


def _run(cfg: Any, settings: Settings, store: Store, stop: threading.Event) -> Any:
    from connector.sync.entrance import sync_client

    return sync_client(cfg, settings, store, stop=stop)


def _lag(due_at: str | None, done: datetime | None) -> float | None:
    if not due_at or done is None:
        return None
    due = datetime.fromisoformat(due_at)
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return (done - due).total_seconds()


@signals.worker_shutting_down.connect
def _stop_running(**_: Any) -> None:
    """SIGTERM / SIGINT to a worker: running syncs stop between requests and save what
    finished (the rest is the next run's), instead of the worker waiting out a long sync."""
    with _lock:
        for stop in _running:
            stop.set()
