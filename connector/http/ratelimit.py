"""Client-side rate limiting: stay under the CRM's limits instead of bouncing off them.

Two shapes cover both CRMs: a token bucket (ActiveCampaign's 5 requests/s, HubSpot's
search 5/s) and a rolling window (HubSpot's 100 requests per 10 seconds). Each endpoint
class of a client gets its own limiter. Time and sleep are injected.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from connector.clock import Clock


class TokenBucket:
    """``rate`` requests per second on average, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self.rate = rate
        self.capacity = max(1.0, burst)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock.monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the time waited."""
        waited = 0.0
        while True:
            with self.lock:
                now = self.clock.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1.0 - 1e-9:
                    self.tokens -= 1.0
                    return waited
                # at least a millisecond: float time may not move for smaller steps
                wait = max((1.0 - self.tokens) / self.rate, 0.001)
            self.clock.sleep(wait)
            waited += wait

    def penalise(self, seconds: float) -> None:
        """After a 429: no tokens until ``seconds`` from now."""
        with self.lock:
            self.tokens = -seconds * self.rate
            self.updated = self.clock.monotonic()


class RollingWindow:
    """At most ``limit`` requests in any ``window`` seconds (HubSpot's ten-second limit).

    With ``in_flight`` a request holds its place from the moment it is sent until
    ``window`` seconds after the latest moment the CRM can have counted it, not after it
    was sent: the CRM counts a request when it arrives, somewhere between its send and its
    answer, so requests in flight on slow or uneven connections never bunch into one of
    the CRM's windows. That latest moment is the answer less half the fastest round trip
    seen (``release`` with ``sent_at``): the way back (the CRM's work and the answer's
    trip) takes at least that. This rule is safe when no request's way back is shorter
    than half the fastest round trip by more than the limit's margin (the window's excess
    over the CRM's): fixed network delays are alike both ways and jitter only adds. Without
    ``sent_at`` the place is held until ``window`` after the answer, which needs no
    assumption at all. Proof sketch: if more than ``limit`` requests arrived in one of the
    CRM's windows, each was held at that window's end, and no more than ``limit`` are ever
    held at once (``tests/http/test_ratelimit_in_flight.py``).
    """

    def __init__(self, limit: int, window: float, clock: Clock, *,
                 in_flight: bool = False) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        # the times places were taken (or, in flight, the latest times the CRM can have
        # counted the answered requests), oldest first
        self.sent: list[float] = []
        self.blocked_until = 0.0
        self.lock = threading.Lock()
        self.track_in_flight = in_flight
        self.in_flight = 0
        self.fastest = math.inf  # the fastest round trip seen (in flight)

    def acquire(self) -> float:
        waited = 0.0
        while True:
            with self.lock:
                now = self.clock.monotonic()
                expired = bisect.bisect_right(self.sent, now - self.window)
                del self.sent[:expired]
                wait = self.blocked_until - now
                if wait <= 0 and len(self.sent) + self.in_flight < self.limit:
                    if self.track_in_flight:
                        self.in_flight += 1
                    else:
                        self.sent.append(now)
                    return waited
                if wait <= 0:
                    # a place frees when the oldest answer leaves the window; while every
                    # place is held by a request in flight, look again shortly
                    wait = (self.sent[0] + self.window - now) if self.sent else 0.005
            wait = max(wait, 0.001)
            self.clock.sleep(wait)
            waited += wait

    def release(self, sent_at: float | None = None) -> None:
        """The answer to a request sent at ``sent_at`` (this limiter's clock, read after
        ``acquire``) came back: its place frees ``window`` seconds after the latest time
        the CRM can have counted it."""
        if not self.track_in_flight:
            return
        with self.lock:
            now = self.clock.monotonic()
            self.in_flight = max(0, self.in_flight - 1)
            counted_by = now
            if sent_at is not None and sent_at <= now:
                self.fastest = min(self.fastest, now - sent_at)
                counted_by = now - self.fastest / 2
            bisect.insort(self.sent, counted_by)

    def penalise(self, seconds: float) -> None:
        with self.lock:
            self.blocked_until = max(self.blocked_until, self.clock.monotonic() + seconds)


@dataclass(frozen=True)
class Limit:
    """A limit description: ``requests`` per ``per_seconds``; ``burst`` for token buckets
    (None means a rolling window of exactly that many requests)."""

    requests: float
    per_seconds: float = 1.0
    burst: float | None = None
    in_flight: bool = False  # rolling windows: count a request from send to answer + window

    @property
    def window_seconds(self) -> float:
        return self.per_seconds


class RateLimiter:
    """One limiter per endpoint class; unknown classes use the ``"default"`` one."""

    def __init__(self, limits: Mapping[str, Limit], clock: Clock) -> None:
        self.limits = dict(limits)
        self.clock = clock
        self._limiters: dict[str, TokenBucket | RollingWindow] = {}
        for name, limit in self.limits.items():
            if limit.burst is None:
                self._limiters[name] = RollingWindow(int(limit.requests), limit.per_seconds,
                                                     clock, in_flight=limit.in_flight)
            else:
                self._limiters[name] = TokenBucket(limit.requests / limit.per_seconds,
                                                   limit.burst, clock)

    def _for(self, endpoint_class: str) -> TokenBucket | RollingWindow | None:
        return self._limiters.get(endpoint_class) or self._limiters.get("default")

    def acquire(self, endpoint_class: str) -> float:
        limiter = self._for(endpoint_class)
        return limiter.acquire() if limiter else 0.0

    def penalise(self, endpoint_class: str, seconds: float) -> None:
        limiter = self._for(endpoint_class)
        if limiter:
            limiter.penalise(seconds)

    def release(self, endpoint_class: str, sent_at: float | None = None) -> None:
        """A request's answer came back (or it failed): see ``RollingWindow.release``."""
        limiter = self._for(endpoint_class)
        if isinstance(limiter, RollingWindow):
            limiter.release(sent_at)

    def window(self, endpoint_class: str) -> float:
        """How long to back off after a 429 that names no Retry-After."""
        limit = self.limits.get(endpoint_class) or self.limits.get("default")
        return limit.window_seconds if limit else 1.0
