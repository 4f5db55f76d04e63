"""Who holds a client's lease, whether that holder is still alive, and its heartbeat.

A holder is ``host:pid:random``. A lease whose holder is provably gone (same host, its
process no longer exists, or it is this very process but not one of its live runs: a
restarted container reuses pid 1) is taken over at once; a holder on another host shows
it is alive only by renewing its short lease (``Heartbeat``), so a holder that stopped
renewing is replaced as soon as its lease runs out.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

from connector.clock import Clock
from connector.errors import LeaseHeld, StateError
from connector.store.base import Store

log = logging.getLogger("connector.lease")

_live: set[str] = set()  # holders of this process whose runs are still going
_live_lock = threading.Lock()


def holder_name() -> str:
    """Who holds a lease: host, process and a random suffix (two runs never collide)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """True only when ``holder`` certainly no longer runs (same host, process gone)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine: only its lease's expiry can tell
    pid = int(pid_text)
    if pid == os.getpid():
        with _live_lock:
            return holder not in _live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


def acquire(store: Store, client: str, holder: str, ttl_seconds: int,
            now: datetime) -> str | None:
    """Take ``client``'s lease for ``holder``. A lease held by a dead holder is taken over
    at once (its name is returned); a live holder's lease raises LeaseHeld."""
    _register(holder)  # first: a run of this process racing for the lease sees it alive
    try:
        return _acquire(store, client, holder, ttl_seconds, now)
    except BaseException:
        _unregister(holder)
        raise


def _acquire(store: Store, client: str, holder: str, ttl_seconds: int,
             now: datetime) -> str | None:
    try:
        store.acquire_lease(client, holder, ttl_seconds, now)
    except LeaseHeld as held:
        if not holder_is_dead(held.holder):
            raise
        if not store.take_over_lease(client, held.holder, holder, ttl_seconds, now):
            # another run took it over first: this raises naming that run (or, if it has
            # finished meanwhile, takes the free lease)
            store.acquire_lease(client, holder, ttl_seconds, now)
        log.warning("took over the lease of client %s from %s (its process is gone)",
                    client, held.holder)
        return held.holder
    return None


def live_holder(store: Store, client: str, now: datetime) -> str | None:
    """Who holds ``client``'s lease, if a run that is still alive holds it (a lease that
    ran out, or whose holder's process is gone, would be taken over at once)."""
    lease = store.lease_holder(client)
    if lease is None:
        return None
    holder, until = lease
    if until <= now or holder_is_dead(holder):
        return None
    return holder


def release(store: Store, client: str, holder: str) -> None:
    _unregister(holder)
    try:
        store.release_lease(client, holder)
    except StateError:
        log.warning("could not release the lease of client %s; it expires by itself", client)


def _register(holder: str) -> None:
    with _live_lock:
        _live.add(holder)


def _unregister(holder: str) -> None:
    with _live_lock:
        _live.discard(holder)


class Heartbeat:
    """Renews a lease every ``every`` seconds in a background thread while a run goes on;
    calls ``on_lost`` once if the lease was taken by another run (it had expired)."""

    # the lease's four parts, the time and what to do on loss, as the lease tests build it
    def __init__(self, store: Store, client: str, holder: str,  # noqa: PLR0913
                 ttl_seconds: int, clock: Clock, on_lost: Callable[[], None],
                 every: float | None = None) -> None:
        self.store = store
        self.client = client
        self.holder = holder
        self.ttl = ttl_seconds
        self.clock = clock
        self.on_lost = on_lost
        self.every = every if every is not None else max(1.0, ttl_seconds / 3)
        self.lost = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"lease:{client}")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def beat(self) -> bool:
        """Renew once; False when the lease is no longer ours."""
        try:
            if self.store.renew_lease(self.client, self.holder, self.ttl, self.clock.now()):
                return True
        except StateError as err:  # the database may be back by the next beat
            log.warning("could not renew the lease of client %s: %s", self.client, err)
            return True
        if not self.lost:
            self.lost = True
            log.error("client %s: the lease was taken over by another run; stopping", self.client)
            self.on_lost()
        return False

    def _loop(self) -> None:
        while not self._done.wait(self.every):
            if not self.beat():
                return
