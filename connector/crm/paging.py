"""Paging through a CRM list whose next page is named by the server (a cursor or offset).

One loop, one guard: a cursor the list already gave is refused with an error naming the
endpoint, so a server (or proxy) that hands the same page back can neither spin a run
forever nor end it silently with half a list.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, TypeVar

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


def offset_pages(get: Callable[[int], Mapping[str, Any]], key: str, *, limit: int,
                 default_limit: int, crm: str, client: str, endpoint: str,
                 start: int = 0) -> Iterator[list[dict[str, Any]]]:
    """The rows of a list paged by ``offset`` (ActiveCampaign's: "limit" rows from
    "offset", the count in ``meta.total``; https://developers.activecampaign.com/reference/
    pagination), page by page from ``start`` to its end through ``pages``. ``get(offset)``
    asks for ``limit`` rows; without a total, a page shorter than ``limit`` ends the list
    unless it holds ``default_limit`` rows (a server that ignored ``limit`` pages by its
    default). A page that repeats the one before (a server or proxy that ignores
    ``offset``) raises NetworkError: offsets never repeat, so ``pages``' guard alone
    would not stop it."""
    before: list[Any] = []

    def fetch(offset: int | None) -> tuple[int, Mapping[str, Any]]:
        at = start if offset is None else offset
        return at, get(at)

    def next_offset(page: tuple[int, Mapping[str, Any]]) -> int | None:
        offset, body = page
        rows = body.get(key) or []
        if rows and rows == before:
            raise NetworkError(f"the page at offset {offset} repeats the page before "
                               "(is offset ignored?); stopping to avoid a loop",
                               crm=crm, client=client, endpoint=endpoint)
        before[:] = rows
        meta = body.get("meta")
        total = _int(meta.get("total")) if isinstance(meta, Mapping) else None
        reached = offset + len(rows)
        if not rows or (total is not None and reached >= total):
            return None
        if total is None and len(rows) < limit and len(rows) != default_limit:
            return None
        return reached

    for _, body in pages(fetch, next_offset, crm=crm, client=client, endpoint=endpoint):
        yield list(body.get(key) or [])


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
