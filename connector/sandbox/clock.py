"""A clock for tests and replays: it only moves when told to."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


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
