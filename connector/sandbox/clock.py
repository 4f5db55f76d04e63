"""Clocks for tests and replays: ``FakeClock`` only moves when told to; ``ClockParts`` mixes
a fake part with the system's."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from connector.clock import SystemClock


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 1, 9, tzinfo=UTC)
        self._mono = 1000.0
        self.slept = 0.0
        self.lock = threading.Lock()

    def now(self) -> datetime:
        with self.lock:
            return self._now

    def monotonic(self) -> float:
        with self.lock:
            return self._mono

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        self.slept += max(0.0, seconds)

    def advance(self, seconds: float = 0, **delta: float) -> None:
        step = seconds + timedelta(**delta).total_seconds()
        with self.lock:
            self._now += timedelta(seconds=step)
            self._mono += step


class ClockParts(SystemClock):
    """A clock assembled from parts, the system's for the parts not given: e.g. a fake
    clock's wall time with real rate-limit waits (a sync against a sandbox server that
    counts real time), or real wall time with a fake clock's waits."""

    def __init__(self, *, now: Callable[[], datetime] | None = None,
                 monotonic: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self._now, self._monotonic, self._sleep = now, monotonic, sleep

    def now(self) -> datetime:
        return self._now() if self._now else super().now()

    def monotonic(self) -> float:
        return self._monotonic() if self._monotonic else super().monotonic()

    def sleep(self, seconds: float) -> None:
        if self._sleep:
            self._sleep(seconds)
        else:
            super().sleep(seconds)
