"""Per-contact engagement calls with a few requests in flight.

A CRM answers one request in 100-300 ms from most places, while the rate limits allow one
every 100 ms (HubSpot) or 200 ms (ActiveCampaign): one request at a time would leave the
limit unused. A few workers hide that latency; every request still takes its token from
the client's one rate limiter, so the limit holds however many are in flight.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from connector import stopping

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_WORKERS = 4


def fan_out(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``[fn(x) for x in items]`` with up to ``workers`` calls at once, in order.

    The first error is raised once the calls already started have finished (none is left
    running behind the caller's back). Each call runs in a copy of the caller's context, so
    log lines keep their client and run. A requested stop (``connector.stopping``) starts
    no further call: ``Stopped`` is raised once the calls in flight are back.
    """
    items = list(items)

    def call(x: T) -> R:
        stopping.check()
        return fn(x)

    if workers <= 1 or len(items) <= 1:
        return [call(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)),
                            thread_name_prefix="engagement") as pool:
        futures = [pool.submit(contextvars.copy_context().run, call, x) for x in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
