"""What every part of the HubSpot adapter shares: the official SDK, whose every request
goes through one ``GuardedPoolManager`` (the shared HTTP layer: limiter, retries, the
status-to-error table), raw JSON requests for the endpoints the SDK lacks, and the paging
of SDK lists."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from hubspot import HubSpot
from hubspot.discovery.discovery_base import DiscoveryBase

from connector.clock import Clock
from connector.crm.base import PullNotes
from connector.crm.hubspot.values import next_cursor
from connector.crm.over_http import OverHttp
from connector.crm.paging import pages
from connector.http.urllib3_pool import GuardedPoolManager
from connector.models import Owner


def classify(method: str, url: str) -> str:
    """The limiter's bucket of a request: the search API has its own limit."""
    return "search" if "/search" in url else "default"


class HubSpotSession(OverHttp):
    """The state the adapter's parts share (set by ``HubSpotCRM.__init__``) and the calls
    they all make."""

    kind: str
    plan: str | None
    fields: dict[str, str]
    score_property: str
    clock: Clock
    overlap: timedelta
    engagement_workers: int
    notes: PullNotes
    pool: GuardedPoolManager
    sdk: HubSpot
    _auth: dict[str, str]
    _apis: dict[str, Any]
    _owners: dict[str, Owner] | None
    _events_api_ok: bool
    _email_api_ok: bool
    _token: str
    _props_cache: dict[str, dict[str, Any]]
    _subscription_ids: list[str] | None
    _ensured: set[str]
    _group: str

    def _factory(self, package: Any, api_name: str, config: dict[str, Any]) -> Any:
        api = DiscoveryBase._default_api_factory(package, api_name, config)
        api.api_client.rest_client.pool_manager = self.pool
        return api

    def _api(self, name: str, get: Callable[[], Any]) -> Any:
        if name not in self._apis:
            self._apis[name] = get()
        return self._apis[name]

    def _pages(self, fetch: Callable[[str | None], Any], endpoint: str) -> Iterator[Any]:
        """The SDK pages of one list, following ``paging.next.after``; a repeated cursor
        stops with an error (``connector.crm.paging``)."""
        return pages(fetch, next_cursor, crm=self.kind, client=self.client_name,
                     endpoint=endpoint)

    def _note(self, note: str) -> None:
        if note not in self.notes.degraded:
            self.notes.degraded.append(note)

    def _get_json(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{path}?{urlencode(params)}"
        response = self.pool.request("GET", url, headers=dict(self._auth))
        return json.loads(response.data or b"{}")

    def _post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = self.pool.request("POST", f"{self.base_url}{path}", body=json.dumps(body),
                                     headers={**self._auth,
                                              "Content-Type": "application/json"})
        return json.loads(response.data or b"{}")
