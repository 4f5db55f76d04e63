"""`connector run`: one APScheduler job per client, from the client's schedule.

One run per client at a time (``max_instances=1``), missed runs coalesced into one, clients
run concurrently in a thread pool. SIGTERM / SIGINT ask every running sync to stop after
its current batch (the sync saves its bookmark) and wait for them before exiting. Across
processes and machines the state store's per-client lease keeps a client single-run.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

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
                 first_run_now: bool = True, max_workers: int = 20) -> None:
        self.clients = dict(clients)
        self.run_one = run_one
        self.stop_event = threading.Event()
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
        if self.stop_event.is_set():
            return
        try:
            self.run_one(name, self.stop_event)
        except Exception:  # one client's failure never stops the others
            log.exception("sync of client %s failed", name)

    def start(self) -> None:
        self.scheduler.start()

    def request_stop(self, *_: object) -> None:
        """Ask running syncs to stop after their current batch; no new runs start."""
        if not self.stop_event.is_set():
            log.info("stopping: finishing the current batches and saving bookmarks")
        self.stop_event.set()

    def shutdown(self) -> None:
        self.stop_event.set()
        self.scheduler.shutdown(wait=True)

    def serve_forever(self, install_signals: bool = True) -> None:
        """Block until SIGTERM/SIGINT (or ``request_stop``), then shut down cleanly."""
        if install_signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        self.start()
        try:
            while not self.stop_event.wait(0.5):
                pass
        finally:
            self.shutdown()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.request_stop()

