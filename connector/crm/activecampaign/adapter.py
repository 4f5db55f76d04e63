"""The ActiveCampaign adapter: its parts put together, its rate limit and its construction
from a client file (the package docstring says how it reads and writes)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from connector.clock import Clock, SystemClock
from connector.crm.activecampaign.actions import Actions
from connector.crm.activecampaign.activities import Stream
from connector.crm.activecampaign.contacts import DEFAULT_FIELDS, ContactsPull
from connector.crm.activecampaign.detect import detect, use
from connector.crm.activecampaign.marker import Marker
from connector.crm.activecampaign.values import perstag_for
from connector.crm.activecampaign.writes import BULK_WRITE_MIN
from connector.crm.base import ALL_CAPABILITIES, PullNotes
from connector.crm.detected import Detected
from connector.crm.fanout import DEFAULT_WORKERS
from connector.crm.registry import register
from connector.crm.spool import ActivitySpool, MemorySpool
from connector.http import HttpLayer, Limit, RateLimiter
from connector.http.requests_client import JsonClient
from connector.models import Owner

if TYPE_CHECKING:
    from connector.config import ClientConfig

# "Our API has a rate limit of 5 requests per second per account" (https://developers.
# activecampaign.com/reference/rate-limits, "Rate Limits"; how AC counts is unverified: the
# sandbox reads it strictly, 5 arrivals in any second). A request holds its place from its
# send until 1/0.97 s after the latest moment AC can have counted it (its answer less half
# the fastest round trip: connector/http/ratelimit.py RollingWindow ``in_flight``); the
# 3 % (31 ms) covers a way back up to 31 ms shorter than half the fastest round trip
RATE_MARGIN = 0.97


@register("activecampaign")
class ActiveCampaignCRM(ContactsPull, Marker, Actions):
    """The ActiveCampaign adapter (see the package docstring)."""

    kind = "activecampaign"
    capabilities = ALL_CAPABILITIES  # tasks, tags, automations, list unsubscribes
    incremental_ordered = False

    def __init__(self, client_name: str, token: str, base_url: str, *,
                 field_map: Mapping[str, str] | None = None,
                 score_field: str = "connector_lead_score", requests_per_second: float = 5.0,
                 clock: Clock | None = None,
                 overlap_seconds: int = 300, bulk_threshold: int = 20,
                 max_attempts: int = 6, engagement_workers: int = DEFAULT_WORKERS,
                 import_poll_seconds: float = 0.25, bulk_write_min: int | None = None,
                 stream_names_visits: bool | None = None,
                 rate_window: float = 1.0) -> None:
        base = base_url.rstrip("/")
        if not base.endswith("/api/3"):
            base += "/api/3"
        self.client_name = client_name
        self.base_url = base
        self.clock = clock or SystemClock()
        self.fields = {**DEFAULT_FIELDS, **{k: v.upper() for k, v in (field_map or {}).items()}}
        self.score_tag = perstag_for(score_field)
        self.overlap = timedelta(seconds=overlap_seconds)
        self.bulk_threshold = bulk_threshold  # contacts from which one account-wide stream
        self.bulk_write_min = min(bulk_threshold, BULK_WRITE_MIN) if bulk_write_min is None \
            else bulk_write_min
        self.engagement_workers = engagement_workers
        self.import_poll_seconds = import_poll_seconds  # first pause; doubles up to 10 s
        self.notes = PullNotes()
        self._unknown: Counter[str] = Counter()
        self._unknown_lock = threading.Lock()
        self._account_stream = True
        self._stream_refused: str | None = None  # how GET /activities refused the account
        self._stream_untrusted = False  # this run's stream answered empty, unproven
        self._contact_activities = True  # GET /activities?contact= answers
        # Whether this account's activity stream is proven to name site visits
        # ("TrackingLog" rows): None = unproven (the default), True = proven, False =
        # proven not to. Only when True is a contact whose ``udate`` moved by nothing but
        # our own write left unread (``stream_complete``, ``connector/sync/own_writes.py``);
        # else its tracking logs are read, inside our write's window too. Set from state
        # by the capability check (first sync, full resync, ``connector doctor``).
        self.stream_names_visits = stream_names_visits
        # "5 requests per second": a rolling window of 5 per 1/0.97 s counted from send to
        # the latest moment AC can have counted each never puts more than 5 into any
        # second of AC's, however the requests in flight arrive, and catches up the time
        # spent scoring and storing (a one-token bucket would lose it); a fractional rate
        # gets a bucket of one token. ``rate_window`` counts the rate per that many
        # seconds instead of one (the benchmark's window scaling: 5 per 0.05 s at 20x)
        count = requests_per_second * rate_window
        whole = count >= 1 and abs(count - round(count)) < 1e-9
        limit = (Limit(round(count), rate_window / RATE_MARGIN, in_flight=True) if whole
                 else Limit(requests_per_second * RATE_MARGIN, 1.0, burst=1))
        limiter = RateLimiter({"default": limit}, self.clock)
        self.layer = HttpLayer("activecampaign", client_name, limiter, clock=self.clock,
                               max_attempts=max_attempts, secrets=[token])
        self.http = JsonClient(base, self.layer, headers={"Api-Token": token},
                               classify=lambda method, path: "default")
        self._field_ids: dict[str, str] | None = None
        self._tags: dict[str, str] | None = None
        self._deals: dict[str, dict[str, Any]] | None = None
        self._users: dict[str, Owner | None] = {}
        self._emails: dict[str, str] = {}
        self._activity_cache: dict[datetime | None, Stream] = {}
        # where the account's activity stream is kept while the run uses it: memory, unless
        # the runtime hands over the state store's (``use_spool``)
        self.spool: ActivitySpool = MemorySpool()
        # per contact, the ids of the engagement the account's stream shows since a day
        # before the bookmark (a site visit does not move ``udate``: docs/activecampaign.md);
        # the sync fetches the contacts with an id it has not stored. None: not known
        self.engaged: Mapping[str, set[str]] | None = None

    @classmethod
    def from_config(cls, client: ClientConfig, token: str, *,
                    clock: Clock) -> ActiveCampaignCRM:
        """The adapter for a client file's ``crm`` block."""
        crm = client.crm
        kwargs: dict[str, Any] = {}
        if crm.rate_limit is not None and crm.rate_limit.requests_per_second:
            kwargs["requests_per_second"] = crm.rate_limit.requests_per_second
        return cls(client.name, token, base_url=crm.base_url or "",  # config requires it
                   field_map=crm.field_map,
                   score_field=client.score_property.name, clock=clock,
                   engagement_workers=crm.concurrency, **kwargs)

    # -- what the account can do (connector/crm/activecampaign/detect.py) -------------------
    def detect_capabilities(self) -> Detected:
        return detect(self)[0]

    def use_capabilities(self, detected: Detected) -> list[str]:
        return use(self, detected)

    def use_spool(self, spool: ActivitySpool) -> None:
        """Keep the activity stream in ``spool`` (the state store's: memory stays flat with
        the account) instead of memory."""
        self.spool.clear()
        self._activity_cache.clear()
        self.engaged = None
        self.spool = spool
        spool.clear()

    def close(self) -> None:
        """Release the connections and the run's spooled streams (a closed adapter used
        again reads the stream again)."""
        self.http.close()
        self._activity_cache.clear()
        self.engaged = None
        self.spool.clear()
