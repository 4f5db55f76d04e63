"""The HubSpot adapter: its parts put together, its limits and its construction from a
client file (the package docstring says how it reads and writes)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hubspot import HubSpot

from connector.clock import Clock, SystemClock
from connector.crm.base import TASK, UNSUBSCRIBE, PullNotes
from connector.crm.fanout import DEFAULT_WORKERS
from connector.crm.hubspot.actions import Actions
from connector.crm.hubspot.capabilities import NO_EMAIL_EVENTS_PLANS, Capabilities
from connector.crm.hubspot.contacts import DEFAULT_FIELDS, ContactsPull
from connector.crm.hubspot.engagement import Engagement
from connector.crm.hubspot.session import classify
from connector.crm.hubspot.writes import Writes
from connector.crm.registry import register
from connector.http import HttpLayer, Limit, RateLimiter
from connector.http.urllib3_pool import GuardedPoolManager
from connector.models import Owner

if TYPE_CHECKING:
    from connector.config import ClientConfig


@register("hubspot")
class HubSpotCRM(ContactsPull, Engagement, Writes, Actions, Capabilities):
    """The HubSpot adapter (see the package docstring)."""

    kind = "hubspot"
    capabilities = frozenset({TASK, UNSUBSCRIBE})  # contacts have no tags; no automations
    incremental_ordered = True
    engaged: Mapping[str, set[str]] | None = None  # no account-wide activity stream

    def __init__(self, client_name: str, token: str, base_url: str = "https://api.hubapi.com",
                 *, plan: str | None = "starter", field_map: Mapping[str, str] | None = None,
                 score_property: str = "connector_lead_score", requests_per_10s: int = 100,
                 search_per_second: int = 5, clock: Clock | None = None,
                 overlap_seconds: int = 300, max_attempts: int = 6,
                 engagement_workers: int = DEFAULT_WORKERS) -> None:
        self.client_name = client_name
        self.base_url = base_url.rstrip("/")
        self.plan = plan
        self.fields = {**DEFAULT_FIELDS, **(field_map or {})}
        self.score_property = score_property
        self.clock = clock or SystemClock()
        self.overlap = timedelta(seconds=overlap_seconds)
        self.engagement_workers = engagement_workers
        self.notes = PullNotes()
        # stay 5% under the portal's ten-second limit: our clock and HubSpot's never agree
        # exactly, and one 429 costs a whole window
        limiter = RateLimiter({"default": Limit(max(1, int(requests_per_10s * 0.95)), 10.0),
                               "search": Limit(search_per_second, 1.0, burst=search_per_second)},
                              self.clock)
        self.layer = HttpLayer("hubspot", client_name, limiter, clock=self.clock,
                               max_attempts=max_attempts, secrets=[token])
        self.pool = GuardedPoolManager(self.layer, classify)
        self._auth = {"Authorization": f"Bearer {token}"}
        self.sdk = HubSpot(access_token=token, host=self.base_url, api_factory=self._factory)
        self._apis: dict[str, Any] = {}
        self._owners: dict[str, Owner] | None = None
        # None (no plan declared): try both APIs until a detection or a 403 says otherwise
        self._events_api_ok = plan in (None, "enterprise")
        self._email_api_ok = plan not in NO_EMAIL_EVENTS_PLANS
        self._token = token
        # the engagement properties of contacts pulled and not yet asked for their events
        self._props_cache: dict[str, dict[str, Any]] = {}
        self._subscription_ids: list[str] | None = None  # read once per adapter (run)
        self._ensured: set[str] = set()
        self._group = "connector"  # the score property's group; the marker joins it

    @classmethod
    def from_config(cls, client: ClientConfig, token: str, *,
                    clock: Clock) -> HubSpotCRM:
        """The adapter for a client file's ``crm`` block."""
        crm = client.crm
        kwargs: dict[str, Any] = {}
        if crm.rate_limit is not None and crm.rate_limit.requests_per_second:
            kwargs["requests_per_10s"] = int(crm.rate_limit.requests_per_second * 10)
        return cls(client.name, token, base_url=crm.base_url or "https://api.hubapi.com",
                   plan=crm.plan,
                   field_map=crm.field_map, score_property=client.score_property.name,
                   clock=clock, engagement_workers=crm.concurrency, **kwargs)

    def close(self) -> None:
        self.pool.clear()
