"""Paging through a CRM list whose next page is named by the server (a cursor or offset).

One loop, one guard: a cursor the list already gave is refused with an error naming the
endpoint, so a server (or proxy) that hands the same page back can neither spin a run
forever nor end it silently with half a list.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

from connector.errors import NetworkError

P = TypeVar("P")
C = TypeVar("C", bound=Hashable)


def pages(fetch: Callable[[C | None], P], next_cursor: Callable[[P], C | None], *,
          crm: str, client: str, endpoint: str) -> Iterator[P]:
    """Each page, first to last: ``fetch(None)``, then ``fetch(cursor)`` with the cursor
    ``next_cursor(page)`` names, until it names none (None or empty). A cursor seen before
    raises NetworkError."""
    cursor: C | None = None
    seen: set[C] = set()
    while True:
        page = fetch(cursor)
        yield page
        nxt = next_cursor(page)
        if nxt is None or nxt == "":
            return
        if nxt in seen:
            raise NetworkError(f"paging cursor {nxt!r} repeated; stopping to avoid a loop",
                               crm=crm, client=client, endpoint=endpoint)
        seen.add(nxt)
        cursor = nxt
