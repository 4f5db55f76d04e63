"""Time, injected: one ``Clock`` protocol wherever time is read or waited for (wall time for
scores, schedules and records; a monotonic clock for rate limits; sleep for back-off), the
system clock for production (the fake one for tests and replays is
``connector.sandbox.clock.FakeClock``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What a part that reads time takes, so tests and replays can move time themselves."""

    def now(self) -> datetime:
        """Wall-clock time, aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (intervals, rate limits)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a fake clock moves instead)."""
        ...


class SystemClock:
    """Wall-clock time (aware UTC), a monotonic clock for rate limiting, and real sleep."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
