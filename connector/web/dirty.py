"""Dirty marks and the debounced targeted sync.

A webhook marks contacts dirty in the state store (so a restart or a crash loses nothing:
what is still marked is synced when the server starts, and the scheduled poll is the safety
net). One background thread watches the clients with new marks; a client's targeted sync
starts after ``quiet_seconds`` without a new mark, or at most ``max_wait_seconds`` after the
first, so a burst of webhooks costs one sync (or, with ``connector serve --queue``, one
task for the workers). A client is synced by one thread at a time; marks that arrive during
its sync schedule the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from connector.clock import Clock, SystemClock
from connector.errors import LeaseHeld
from connector.store.base import Store

log = logging.getLogger("connector.web")

# (client, {contact id: first marked at}) -> None; raises LeaseHeld when another run has it
Runner = Callable[[str, dict[str, datetime]], None]
Timing = Callable[[str], tuple[float, float]]  # client -> (quiet, max wait) seconds


@dataclass
class _Pending:
    first: float
    last: float


class Debouncer:
    """Marks contacts dirty and runs each client's targeted sync when its burst is over."""

    def __init__(self, store: Store, runner: Runner, timing: Timing, *, workers: int = 4,
                 clock: Clock | None = None,
                 tick: float = 0.05, busy_retry: float = 1.0) -> None:
        self.store = store
        self.runner = runner
        self.timing = timing
        self.clock: Clock = clock or SystemClock()
        self.tick = tick
        self.busy_retry = busy_retry
        self.pending: dict[str, _Pending] = {}
        self.running: set[str] = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="targeted")
        self.thread: threading.Thread | None = None

    def mark(self, client: str, ids: Sequence[str], source: str) -> None:
        """Record the marks (committed before the webhook is answered) and schedule."""
        if not ids:
            return
        self.store.mark_dirty(client, ids, source, self.clock.now())
        self._schedule(client)

    def _schedule(self, client: str, at: float | None = None) -> None:
        """Note a mark at ``at`` (now): the client is due ``quiet`` seconds after it."""
        now = self.clock.monotonic() if at is None else at
        with self.lock:
            entry = self.pending.get(client)
            if entry is None:
                self.pending[client] = _Pending(now, now)
            else:
                entry.last = max(entry.last, now)
        self.wake.set()

    def start(self) -> None:
        """Start the loop; contacts still marked from before are synced at once."""
        long_ago = self.clock.monotonic() - 10**6
        for client in self.store.dirty_clients():
            with self.lock:
                self.pending[client] = _Pending(long_ago, long_ago)
        self.thread = threading.Thread(target=self._loop, name="debouncer", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.pool.shutdown(wait=True, cancel_futures=True)

    def idle(self) -> bool:
        with self.lock:
            return not self.pending and not self.running

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(self.tick)
            self.wake.clear()
            for client in self._due():
                self.pool.submit(self._run, client)

    def _due(self) -> list[str]:
        now = self.clock.monotonic()
        due = []
        with self.lock:
            for client, entry in list(self.pending.items()):
                if client in self.running:
                    continue
                quiet, max_wait = self.timing(client)
                if now - entry.last >= quiet or now - entry.first >= max_wait:
                    del self.pending[client]
                    self.running.add(client)
                    due.append(client)
        return due

    def _run(self, client: str) -> None:
        try:
            dirty = self.store.dirty_contacts(client)
            if dirty:
                self.runner(client, dirty)
        except LeaseHeld:  # a scheduled poll has the client: try again shortly
            quiet, _ = self.timing(client)
            self._schedule(client, self.clock.monotonic() + self.busy_retry - quiet)
        except Exception:  # the marks stay; the next webhook or the poll picks them up
            log.exception("targeted sync of %s failed", client)
        finally:
            with self.lock:
                self.running.discard(client)
            self.wake.set()
