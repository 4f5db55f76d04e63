"""Read the next batch while the current one is finished.

A batch's reads (a page of contacts, their state, their engagement) wait on the CRM's rate
limit; its finish (scoring, the write-back, the state transaction) waits on the CPU and the
state store. One after the other, the rate limit idles while each batch is finished: about
0.7 s of every 5 s at 10,000 contacts and 20x limits, more on bigger accounts (issue 17).
``read_ahead`` runs the reads of batch k+1 in one helper thread while the caller finishes
batch k. Reads stay in order and one at a time, so what they consume (a paging generator,
the CRM adapter's notes) still sees a single reader; every request still takes its turn
from the client's one rate limiter.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from connector import stopping

T = TypeVar("T")


def read_ahead(read: Callable[[], T | None], stop: threading.Event) -> Iterator[T]:
    """Yield ``read()`` until it returns None; the next call runs in a helper thread while
    the caller works on the item just yielded.

    A read's error (``Stopped`` included) is raised where its item would have been yielded.
    When the caller stops iterating (a break, an error), the read under way stops at its
    next request (``connector.stopping``) and is waited for: no helper outlives the loop,
    and nothing it read is handed out.
    """
    cancel = stopping.Linked(stop)

    def guarded() -> T | None:
        with stopping.stoppable(cancel):
            return read()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        future = pool.submit(contextvars.copy_context().run, guarded)
        try:
            while True:
                item = future.result()
                if item is None:
                    return
                future = pool.submit(contextvars.copy_context().run, guarded)
                yield item
        finally:
            cancel.set()  # the pool's shutdown then waits for the read in flight
