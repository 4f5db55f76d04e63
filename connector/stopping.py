"""Cooperative stopping inside long CRM reads.

A sync sets its stop event as the current one (``stoppable``); read loops that can take
minutes (per-contact engagement calls, an account's activity stream) call ``check()``
between requests, which raises ``Stopped`` once a stop was asked for. The sync then drops
the half-read batch (nothing of it is recorded, its bookmark does not move), so a
SIGTERM is answered within one request, not after a whole batch. ``on_signals`` turns
SIGTERM / SIGINT into such a stop for the commands.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from types import FrameType

_current: ContextVar[threading.Event | None] = ContextVar("connector_stop", default=None)


class Stopped(Exception):
    """A stop was requested; raised between CRM requests. Not a ``ConnectorError`` (see
    ``connector.errors``): a catch-all for errors must never take a stop for a failure."""

    def __init__(self) -> None:
        super().__init__("stop requested")


def requested() -> bool:
    """True when the current sync was asked to stop."""
    event = _current.get()
    return event is not None and event.is_set()


def check() -> None:
    """Raise Stopped when the current sync was asked to stop."""
    if requested():
        raise Stopped


class Linked(threading.Event):
    """A stop event that also reads as set while ``parent`` is: a helper thread's reads can
    be stopped on their own (whoever waited for them went away) or with the whole sync."""

    def __init__(self, parent: threading.Event) -> None:
        super().__init__()
        self._parent = parent

    def is_set(self) -> bool:
        return super().is_set() or self._parent.is_set()


@contextlib.contextmanager
def on_signals(request_stop: Callable[[int], None]) -> Iterator[None]:
    """While inside: the first SIGTERM / SIGINT calls ``request_stop(signum)``; a second
    one quits at once (exit 128 + signal; the state stays consistent, as after kill -9).
    Only in the main thread (elsewhere signals cannot be handled): then a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        if seen:
            os._exit(128 + signum)
        seen.append(signum)
        request_stop(signum)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def unstoppable() -> Iterator[None]:
    """No ``check()`` raises inside (work that must not be cut short, such as an action
    being delivered: delivery stops between actions by itself)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def stoppable(event: threading.Event) -> Iterator[None]:
    """Make ``event`` the stop event that ``check()`` looks at, in this context (and in
    the copies of it that worker threads run in)."""
    token = _current.set(event)
    try:
        yield
    finally:
        _current.reset(token)
