"""Time, injected: the system clock for production (the fake one for tests and replays is
``connector.sandbox.clock.FakeClock``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SystemClock:
    """Wall-clock time (aware UTC), a monotonic clock for rate limiting, and real sleep."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
