"""Switchable, seeded fault injection shared by the sandboxes.

A FaultPlan decides, per request, whether to misbehave and how: a 429 (with or without
Retry-After), a 5xx, extra latency, a connection cut mid-body ("reset"), or a truncated
JSON body. Rates are probabilities per request; a ``burst`` forces the next N requests
to be 429s. Seeded, so a failing schedule can be replayed from its seed.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

FAULTS = ("rate_limit", "server_error", "latency", "reset", "malformed")


@dataclass
class FaultPlan:
    seed: int = 0
    rate_limit: float = 0.0
    server_error: float = 0.0
    latency: float = 0.0
    latency_seconds: float = 0.2
    reset: float = 0.0
    malformed: float = 0.0
    partial: float = 0.0  # per record: HubSpot 207 failures, ActiveCampaign bulk-import rows
    retry_after: float | str | None = 1.0  # seconds, or an HTTP date (RFC 9110 10.2.3)
    burst: int = 0
    only_paths: tuple[str, ...] = ()
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self.burst or any(getattr(self, f) for f in FAULTS))

    def decide(self, path: str) -> str | None:
        """The fault to inject for this request, or None."""
        if self.only_paths and not path.startswith(self.only_paths):
            return None
        with self._lock:
            if self.burst > 0:
                self.burst -= 1
                return self._note("rate_limit")
            roll = self._rng.random()
            for name in FAULTS:
                rate = getattr(self, name)
                if roll < rate:
                    return self._note(name)
                roll -= rate
        return None

    def _note(self, name: str) -> str:
        self.injected[name] = self.injected.get(name, 0) + 1
        return name

    def fail_record(self) -> bool:
        """Whether one record of a batch write fails (HubSpot 207, AC bulk import row)."""
        if not self.partial:
            return False
        with self._lock:
            hit = self._rng.random() < self.partial
        if hit:
            self._note("partial")
        return hit

    def pause(self) -> None:
        time.sleep(self.latency_seconds)

    def update(self, **settings: object) -> None:
        """Change rates at run time (also reachable over HTTP at /__sandbox/faults)."""
        with self._lock:
            for key, value in settings.items():
                if key == "seed":
                    self._rng = random.Random(int(value))  # type: ignore[call-overload]
                if not hasattr(self, key) or key.startswith("_"):
                    raise ValueError(f"unknown fault setting {key!r}")
                setattr(self, key, value)
