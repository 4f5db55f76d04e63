"""`connector run`: one APScheduler job per client, from the client's schedule.

The first run of each client follows its schedule (``first_run_now`` runs them all at
start: ``connector run --now``). One run per client at a time (``max_instances=1``), missed
runs coalesced into one, clients run concurrently in a thread pool. SIGTERM / SIGINT ask
every running sync to stop between requests (each saves what it finished and says what it
left) and wait for them before exiting. Across processes and machines the state store's
per-client lease keeps a client single-run.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connector import stopping
from connector.config import ClientConfig

log = logging.getLogger("connector.scheduler")

RunOne = Callable[[str, threading.Event], None]


def trigger_for(client: ClientConfig) -> BaseTrigger:
    """The APScheduler trigger for a client's ``schedule`` block."""
    schedule = client.schedule
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=schedule.timezone)
    return IntervalTrigger(minutes=schedule.interval_minutes, timezone=schedule.timezone)


class Runner:
    """Runs every client on its schedule until stopped."""

    def __init__(self, clients: Mapping[str, ClientConfig], run_one: RunOne, *,
                 first_run_now: bool = False, max_workers: int = 20) -> None:
        self.clients = dict(clients)
        self.run_one = run_one
        self.stop_event = threading.Event()
        self._running: dict[str, threading.Event] = {}  # each run's own stop event
        self._lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max(1, min(max_workers,
                                                                           len(clients))))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        for name, client in self.clients.items():
            kwargs = {"next_run_time": datetime.now(UTC)} if first_run_now else {}
            self.scheduler.add_job(self._job, trigger_for(client), args=[name], id=name,
                                   name=f"sync {name}", **kwargs)

    def _job(self, name: str) -> None:
        # A run gets its own stop event (its sync may set it: lease lost), set by
        # request_stop like all the others.
        stop = threading.Event()
        with self._lock:
            if self.stop_event.is_set():
                return
            self._running[name] = stop
        try:
            self.run_one(name, stop)
        except Exception:  # one client's failure never stops the others
            log.exception("sync of client %s failed", name)
        finally:
            with self._lock:
                self._running.pop(name, None)

    def next_runs(self) -> dict[str, datetime | None]:
        """When each client's next run starts (None: paused or stopping)."""
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def start(self) -> None:
        self.scheduler.start()

    def request_stop(self, *_: object) -> None:
        """Ask running syncs to stop between requests; no new runs start."""
        with self._lock:
            if not self.stop_event.is_set():
                log.info("stopping: finishing the requests in flight and saving what finished")
            self.stop_event.set()
            for stop in self._running.values():
                stop.set()

    def shutdown(self) -> None:
        self.request_stop()
        self.scheduler.shutdown(wait=True)

    def serve_forever(self, install_signals: bool = True,
                      on_started: Callable[[], None] | None = None) -> None:
        """Block until SIGTERM/SIGINT (or ``request_stop``), then shut down cleanly: the
        running syncs stop between requests and are waited for. A second signal quits at
        once."""
        signals = stopping.on_signals(self.request_stop) if install_signals \
            else contextlib.nullcontext()
        with signals:
            self.start()
            if on_started is not None:
                on_started()
            try:
                while not self.stop_event.wait(0.5):
                    pass
            finally:
                self.shutdown()

