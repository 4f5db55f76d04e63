"""What every part of the ActiveCampaign adapter shares: the JSON client whose every
request goes through the one HTTP layer (limiter, retries, the status-to-error table), and
the paging of AC's offset lists."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from connector import stopping
from connector.clock import Clock
from connector.crm import paging
from connector.crm.activecampaign.values import int_or_none
from connector.crm.base import PullNotes
from connector.crm.fanout import fan_out
from connector.crm.over_http import OverHttp
from connector.crm.spool import ActivitySpool
from connector.http.requests_client import JsonClient
from connector.models import Owner

PAGE = 100
# AC's v3 lists answer 20 rows when no limit is asked for; a server that ignores ``limit``
# on the tracking logs still pages by 20
DEFAULT_PAGE = 20
STREAM_WINDOW = 64  # pages of a long list read in flight before they are handed on


class ACSession(OverHttp):
    """The state the adapter's parts share (set by ``ActiveCampaignCRM.__init__``) and the
    list reads they all make."""

    kind: str
    clock: Clock
    fields: dict[str, str]
    score_tag: str
    overlap: timedelta
    bulk_threshold: int
    bulk_write_min: int
    engagement_workers: int
    import_poll_seconds: float
    notes: PullNotes
    stream_names_visits: bool | None
    engaged: Mapping[str, set[str]] | None
    spool: ActivitySpool
    http: JsonClient
    _unknown: Counter[str]
    _unknown_lock: threading.Lock
    _account_stream: bool
    _stream_refused: str | None
    _stream_untrusted: bool
    _contact_activities: bool
    _field_ids: dict[str, str] | None
    _tags: dict[str, str] | None
    _deals: dict[str, dict[str, Any]] | None
    _users: dict[str, Owner | None]
    _emails: dict[str, str]

    def _paged(self, path: str, key: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row of an offset-paged list, in order (``_pages``)."""
        return [row for page in self._pages(path, key, params) for row in page]

    def _pages(self, path: str, key: str,
               params: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """The pages of an offset-paged list, in order. The first page's ``meta.total``
        names the other pages, which are asked for ``engagement_workers`` at a time (each
        still takes its turn from the one limiter), a window of ``STREAM_WINDOW`` pages
        after the other: a 100,000-contact account's activity stream (7,600 pages) is
        turned into events window by window, never held whole as raw rows. Without a
        total, one page after the other until a short one."""
        def page(offset: int) -> list[dict[str, Any]]:
            return list(self.http.get(path, **params, limit=PAGE, offset=offset)
                        .get(key) or [])

        body = self.http.get(path, **params, limit=PAGE, offset=0)
        first: list[dict[str, Any]] = list(body.get(key) or [])
        yield first
        if len(first) < PAGE:
            return
        total = int_or_none((body.get("meta") or {}).get("total"))
        offset, seen = PAGE, len(first)
        if total is not None:
            while offset < total:
                end = min(total, offset + STREAM_WINDOW * PAGE)
                pages = fan_out(page, range(offset, end, PAGE), self.engagement_workers)
                yield from pages
                seen += sum(len(p) for p in pages)
                offset = end
                if len(pages[-1]) < PAGE:
                    return
            if seen >= total:
                return  # else: the list grew while it was read; read on
        yield from self._offset_list(path, key, start=offset, stoppable=True, **params)


    def _note(self, note: str) -> None:
        with self._unknown_lock:
            if note not in self.notes.degraded:
                self.notes.degraded.append(note)


    def _offset_list(self, endpoint: str, key: str, start: int = 0, stoppable: bool = False,
                     **params: Any) -> Iterator[list[dict[str, Any]]]:
        """The pages of a list from ``start``, one after the other to its end
        (``paging``); a long list (``stoppable``) honours a stop between its pages."""
        def get(offset: int) -> Mapping[str, Any]:
            if stoppable:
                stopping.check()
            return self.http.get(endpoint, **params, limit=PAGE, offset=offset)

        return paging.offset_pages(get, key, start=start, limit=PAGE,
                                   default_limit=DEFAULT_PAGE, crm=self.kind,
                                   client=self.client_name, endpoint=f"GET {endpoint}")
