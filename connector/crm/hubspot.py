"""HubSpot through the official SDK, every call through the shared HTTP layer.

Pull: a full pull pages ``GET /crm/v3/objects/contacts``; an incremental pull searches
``lastmodifieddate`` between the bookmark (minus an overlap for the search index's lag)
and the sync's start, ascending, and gets past the 10,000-result search cap by restarting
the search at the last timestamp it saw. Engagement: per-URL page views and form
submissions from the events API (Enterprise portals), opens and clicks from the email
events API (Professional and up); lower plans degrade to the contact's own engagement
properties (``hubspot_engagement.py``; said in the sync report). The engagement counters
and last-engagement dates on the contact form its ``activity_signature``, so the sync
fetches events only for contacts whose engagement moved (a repeat open moves a date, not
a counter).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from hubspot import HubSpot
from hubspot.communication_preferences.models import PublicUpdateSubscriptionStatusRequest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectInput,
)
from hubspot.crm.objects.tasks import SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from hubspot.discovery.discovery_base import DiscoveryBase

from connector.crm.base import (
    MARKER_DESCRIPTION,
    MARKER_LABEL,
    MARKER_NAME,
    TASK,
    UNSUBSCRIBE,
    PullNotes,
    ScoreProperty,
    WriteReport,
)
from connector.crm.detected import Detected
from connector.crm.fanout import DEFAULT_WORKERS, fan_out
from connector.crm.hubspot_engagement import (
    EMAIL_NOTE,
    ENGAGEMENT_PROPERTIES,
    EVENTS_NOTE,
    SIGNATURE_PROPERTIES,
    email_events,
    visit_and_form_events,
)
from connector.crm.mapping import form_event_type
from connector.crm.paging import pages
from connector.crm.registry import register
from connector.errors import (
    AuthError,
    FixConfiguration,
    NotFoundError,
    SkipRecord,
)
from connector.http import HttpLayer, Limit, RateLimiter
from connector.http.urllib3_pool import GuardedPoolManager
from connector.models import Contact, Event, EventType, Owner

if TYPE_CHECKING:
    from connector.config import ClientConfig

DEFAULT_FIELDS = {
    "email": "email", "first_name": "firstname", "last_name": "lastname",
    "job_title": "jobtitle", "company": "company", "company_size": "numberofemployees",
    "industry": "industry", "country": "country", "lifecycle_stage": "lifecyclestage",
}
EXTRA = ("hubspot_owner_id", "hs_lifecyclestage_customer_date", "lastmodifieddate",
         "createdate")
# plans whose portals have no email events API (scope ``content``); the events API is
# Enterprise only (see connector/crm/hubspot_engagement.py)
NO_EMAIL_EVENTS_PLANS = ("free", "starter")
# what a declared ``crm.plan`` lets the adapter use; without one it uses what it detects
PLAN_APIS: dict[str, tuple[str, ...]] = {
    "free": (), "starter": (), "professional": ("email_events_api",),
    "enterprise": ("events_api", "email_events_api")}
API_WORDS = {
    "events_api": ("the events API (every page view and form)",
                   "page views and forms come from the first and last ones on the contact"),
    "email_events_api": ("the email events API (every open and click)",
                         "opens and clicks come from the contact's counters, one per email")}
TOKEN_INFO = "/oauth/v2/private-apps/get/access-token-info"
SEARCH_CAP = 10_000
SEARCH_PAGE = 200
BATCH = 100


def _classify(method: str, url: str) -> str:
    return "search" if "/search" in url else "default"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _parse_time_or_none(value: str | None) -> datetime | None:
    try:
        return _parse_time(value)
    except ValueError:
        return None


def _next_cursor(page: Any) -> str | None:
    """The ``paging.next.after`` cursor of an SDK page, or None on the last page."""
    paging = getattr(page, "paging", None)
    return paging.next.after if paging and paging.next else None


def _iso(at: datetime) -> str:
    """A datetime property's value: ISO 8601 in UTC to the millisecond."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


@register("hubspot")
class HubSpotCRM:
    """The HubSpot adapter (see the module docstring)."""

    kind = "hubspot"
    capabilities = frozenset({TASK, UNSUBSCRIBE})  # contacts have no tags; no automations
    incremental_ordered = True
    engaged: Mapping[str, set[str]] | None = None  # no account-wide activity stream

    def __init__(self, client_name: str, token: str, base_url: str = "https://api.hubapi.com",
                 *, plan: str | None = "starter", field_map: Mapping[str, str] | None = None,
                 score_property: str = "connector_lead_score", requests_per_10s: int = 100,
                 search_per_second: int = 5, clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 overlap_seconds: int = 300, max_attempts: int = 6,
                 engagement_workers: int = DEFAULT_WORKERS) -> None:
        self.client_name = client_name
        self.base_url = base_url.rstrip("/")
        self.plan = plan
        self.fields = {**DEFAULT_FIELDS, **(field_map or {})}
        self.score_property = score_property
        self.clock = clock or (lambda: datetime.now(UTC))
        self.overlap = timedelta(seconds=overlap_seconds)
        self.engagement_workers = engagement_workers
        self.notes = PullNotes()
        # stay 5% under the portal's ten-second limit: our clock and HubSpot's never agree
        # exactly, and one 429 costs a whole window
        limiter = RateLimiter({"default": Limit(max(1, int(requests_per_10s * 0.95)), 10.0),
                               "search": Limit(search_per_second, 1.0, burst=search_per_second)},
                              monotonic, sleep)
        self.layer = HttpLayer("hubspot", client_name, limiter, clock=monotonic, sleep=sleep,
                               max_attempts=max_attempts, secrets=[token], now=self.clock)
        self.pool = GuardedPoolManager(self.layer, _classify)
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
                    clock: Callable[[], datetime],
                    sleep: Callable[[float], None] = time.sleep) -> HubSpotCRM:
        """The adapter for a client file's ``crm`` block."""
        crm = client.crm
        kwargs: dict[str, Any] = {}
        if crm.rate_limit is not None and crm.rate_limit.requests_per_second:
            kwargs["requests_per_10s"] = int(crm.rate_limit.requests_per_second * 10)
        return cls(client.name, token, base_url=crm.base_url or "https://api.hubapi.com",
                   plan=crm.plan,
                   field_map=crm.field_map, score_property=client.score_property.name,
                   clock=clock, sleep=sleep, engagement_workers=crm.concurrency, **kwargs)

    @property
    def http_stats(self) -> Any:
        return self.layer.stats

    def retried(self) -> dict[str, int]:
        return dict(self.layer.stats.retried)

    def __repr__(self) -> str:
        return f"HubSpotCRM(client={self.client_name!r}, base_url={self.base_url!r})"

    def _factory(self, package: Any, api_name: str, config: dict[str, Any]) -> Any:
        api = DiscoveryBase._default_api_factory(package, api_name, config)
        api.api_client.rest_client.pool_manager = self.pool
        return api

    def _api(self, name: str, get: Callable[[], Any]) -> Any:
        if name not in self._apis:
            self._apis[name] = get()
        return self._apis[name]

    # -- contacts -------------------------------------------------------------------
    def _properties(self) -> list[str]:
        return sorted({*self.fields.values(), *ENGAGEMENT_PROPERTIES, *EXTRA,
                       self.score_property, MARKER_NAME})

    def iter_contacts(self, since: datetime | None, until: datetime) -> Iterator[Contact]:
        self._props_cache.clear()  # a new pull: nothing of an earlier one is still wanted
        if since is None:
            yield from self._full_pull()
        else:
            yield from self._search_since(since - self.overlap, until)

    def _full_pull(self) -> Iterator[Contact]:
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)
        for page in self._pages(lambda after: api.get_page(
                limit=100, after=after, properties=self._properties(), archived=False),
                "GET /crm/v3/objects/contacts"):
            for obj in page.results:
                contact = self._safe_contact(obj.id, obj.properties)
                if contact is not None:
                    yield contact

    def _pages(self, fetch: Callable[[str | None], Any], endpoint: str) -> Iterator[Any]:
        """The SDK pages of one list, following ``paging.next.after``; a repeated cursor
        stops with an error (``connector.crm.paging``)."""
        return pages(fetch, _next_cursor, crm=self.kind, client=self.client_name,
                     endpoint=endpoint)

    def _search_since(self, start: datetime, until: datetime) -> Iterator[Contact]:
        """Ascending by lastmodifieddate, keyset-paged: each page asks again from the newest
        modification time seen, so contacts the sync modifies meanwhile (its own score
        writes move them past ``until``) cannot shift the pages and skip others, and the
        10,000-result cap never applies. Contacts seen twice at a page boundary are yielded
        once; only a page entirely at one time pages by offset within it."""
        api = self._api("search", lambda: self.sdk.crm.contacts.search_api)
        low, high = _ms(start), _ms(until)
        at_low: set[str] = set()  # ids already yielded whose modification time is ``low``
        offset = 0
        while True:
            request = PublicObjectSearchRequest(
                filter_groups=[{"filters": [
                    {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(low)},
                    {"propertyName": "lastmodifieddate", "operator": "LTE",
                     "value": str(high)}]}],
                sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                properties=self._properties(), limit=SEARCH_PAGE, after=str(offset))
            page = api.do_search(public_object_search_request=request)
            moved = False
            for obj in page.results:
                stamp = _parse_time_or_none(obj.properties.get("lastmodifieddate"))
                stamp_ms = max(_ms(stamp), low) if stamp is not None else low
                if stamp_ms == low and obj.id in at_low:
                    continue
                if stamp_ms > low:
                    low, at_low, moved = stamp_ms, set(), True
                at_low.add(obj.id)
                contact = self._safe_contact(obj.id, obj.properties)
                if contact is not None:
                    yield contact
            if not _next_cursor(page):
                return
            if moved:
                offset = 0
                continue
            offset += len(page.results)
            if offset + SEARCH_PAGE > SEARCH_CAP:
                raise FixConfiguration(
                    "more than 10,000 contacts share one modification time; the search "
                    "cannot page past them", crm=self.kind, client=self.client_name,
                    endpoint="POST /crm/v3/objects/contacts/search",
                    fix="run `connector resync --full` (it pages without the cap)")

    def get_contacts_by_id(self, ids: Sequence[str]) -> list[Contact]:
        """The contacts of ``ids`` as they are now, one ``GET /crm/v3/objects/contacts/{id}``
        each (a webhook's few contacts; the SDK's basic_api.get_by_id), ``engagement_workers``
        at a time; deleted contacts are left out."""
        self._props_cache.clear()
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)

        def one(cid: str) -> Contact | None:
            try:
                obj = api.get_by_id(cid, properties=self._properties(), archived=False)
            except NotFoundError:
                return None
            return self._safe_contact(obj.id, obj.properties)

        got = fan_out(one, list(dict.fromkeys(ids)), self.engagement_workers)
        return [c for c in got if c is not None]

    def _safe_contact(self, contact_id: str, props: Mapping[str, Any]) -> Contact | None:
        """A bad record is skipped and reported; it never stops the other contacts."""
        try:
            return self._contact(contact_id, props or {})
        except (ValueError, TypeError, AttributeError) as exc:
            self.notes.skipped[str(contact_id)] = f"unreadable record: {type(exc).__name__}: {exc}"
            return None

    def _contact(self, contact_id: str, props: Mapping[str, Any]) -> Contact:
        fields = {name: props.get(prop) for name, prop in self.fields.items()}
        raw_score = props.get(self.score_property)
        try:
            score = int(float(raw_score)) if raw_score not in (None, "") else None
        except ValueError:
            score = None
        customer_at = _parse_time(props.get("hs_lifecyclestage_customer_date"))
        if not (self._events_api_ok and self._email_api_ok):  # what degraded events use
            self._props_cache[str(contact_id)] = {k: props.get(k)
                                                  for k in ENGAGEMENT_PROPERTIES}
        return Contact(
            id=str(contact_id),
            email=props.get("email"),
            fields=fields,
            owner_id=props.get("hubspot_owner_id") or None,
            updated_at=_parse_time(props.get("lastmodifieddate")),
            created_at=_parse_time(props.get("createdate")),
            score_in_crm=score,
            activity_signature="|".join(str(props.get(c) or "")
                                        for c in SIGNATURE_PROPERTIES),
            is_customer=(props.get("lifecyclestage") == "customer"),
            customer_at=customer_at,
            invited_at=_parse_time_or_none(props.get(MARKER_NAME)),
        )

    # -- engagement -------------------------------------------------------------------
    def fetch_events(self, contacts: Sequence[Contact],
                     since: datetime | None) -> Mapping[str, list[Event]]:
        got = fan_out(lambda c: self._contact_events(c, since), contacts,
                      self.engagement_workers)
        return {c.id: events for c, events in zip(contacts, got, strict=True)}

    def _contact_events(self, contact: Contact, since: datetime | None) -> list[Event]:
        events: list[Event] = []
        props: Mapping[str, Any] | None = self._props_cache.pop(contact.id, None)
        if contact.email and self._email_api_ok:
            try:
                events.extend(self._email_events(contact, since))
            except (AuthError, NotFoundError):  # 403 MISSING_SCOPES: the plan lacks it
                self._email_api_ok = False
        if not self._email_api_ok:
            props = props if props is not None else self._engagement_props(contact)
            self._note(EMAIL_NOTE)
            events.extend(email_events(contact.id, props))
        if self._events_api_ok:
            try:
                events.extend(self._analytics_events(contact, since))
            except (AuthError, NotFoundError):
                self._events_api_ok = False  # calls already in flight may see it too
        if not self._events_api_ok:
            props = props if props is not None else self._engagement_props(contact)
            self._note(EVENTS_NOTE)
            events.extend(visit_and_form_events(contact.id, props))
        return events

    def _note(self, note: str) -> None:
        if note not in self.notes.degraded:
            self.notes.degraded.append(note)

    def _engagement_props(self, contact: Contact) -> Mapping[str, Any]:
        """A contact's engagement properties when the pull did not keep them (an API turned
        out to be missing only now): one read of the contact."""
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)
        try:
            obj = api.get_by_id(contact.id, properties=list(ENGAGEMENT_PROPERTIES),
                                archived=False)
        except NotFoundError:
            return {}
        return obj.properties or {}

    def _analytics_events(self, contact: Contact, since: datetime | None) -> list[Event]:
        api = self._api("events", lambda: self.sdk.events.events_api)
        events: list[Event] = []

        def fetch(after: str | None) -> Any:
            kwargs: dict[str, Any] = {"object_type": "contact", "object_id": contact.id,
                                      "limit": 100}
            if after:
                kwargs["after"] = after
            if since is not None:
                kwargs["occurred_after"] = since
            return api.get_page(**kwargs)

        for page in self._pages(fetch, "GET /events/v3/events"):
            for item in page.results:
                props = item.properties or {}
                occurred = item.occurred_at if item.occurred_at.tzinfo else \
                    item.occurred_at.replace(tzinfo=UTC)
                if item.event_type == "e_visited_page":
                    events.append(Event(f"hs-ev-{item.id}", contact.id, EventType.PAGE_VIEW,
                                        occurred.astimezone(UTC), url=props.get("hs_url")))
                elif item.event_type == "e_submitted_form":
                    title = props.get("hs_form_title")
                    events.append(Event(f"hs-ev-{item.id}", contact.id, form_event_type(title),
                                        occurred.astimezone(UTC), name=title,
                                        url=props.get("hs_url") or None))
        return events

    def _email_events(self, contact: Contact, since: datetime | None) -> list[Event]:
        events: list[Event] = []

        def fetch(offset: str | None) -> dict[str, Any]:
            params: dict[str, Any] = {"recipient": contact.email, "limit": 1000}
            if offset:
                params["offset"] = offset
            if since is not None:
                params["startTimestamp"] = _ms(since)
            return self._get_json("/email/public/v1/events", params)

        def next_offset(body: dict[str, Any]) -> str | None:
            return body.get("offset") if body.get("hasMore") else None

        for body in pages(fetch, next_offset, crm=self.kind, client=self.client_name,
                          endpoint="GET /email/public/v1/events"):
            for item in body.get("events", []):
                kind = {"OPEN": EventType.EMAIL_OPEN, "CLICK": EventType.EMAIL_CLICK}.get(
                    item.get("type"))
                if kind is None:
                    continue
                events.append(Event(
                    f"hs-em-{item.get('id')}", contact.id, kind,
                    datetime.fromtimestamp(int(item["created"]) / 1000, UTC),
                    url=item.get("url"), email_id=str(item.get("emailCampaignId") or "") or None))
        return events

    def _get_json(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{path}?{urlencode(params)}"
        response = self.pool.request("GET", url, headers=dict(self._auth))
        return json.loads(response.data or b"{}")

    def _post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = self.pool.request("POST", f"{self.base_url}{path}", body=json.dumps(body),
                                     headers={**self._auth,
                                              "Content-Type": "application/json"})
        return json.loads(response.data or b"{}")

    # -- what the portal can do (connector/crm/detected.py) --------------------------------
    def detect_capabilities(self) -> Detected:
        """The token's scopes (``POST /oauth/v2/private-apps/get/access-token-info``,
        documented at the end of developers.hubspot.com/docs/api/private-apps; None when it
        will not say), and whether the events API, the email events API and the
        subscription types answer (one read of each; a 403 or 404 is "no", a 401 stops
        with "check the token")."""
        events = self._api("events", lambda: self.sdk.events.events_api)
        definitions = self._api(
            "definitions", lambda: self.sdk.communication_preferences.definition_api)
        found: dict[str, Any] = {"scopes": self.token_scopes()}
        found["events_api"] = self._answers(
            lambda: events.get_page(object_type="contact", limit=1))
        found["email_events_api"] = self._answers(
            lambda: self._get_json("/email/public/v1/events", {"limit": 1}))
        types: list[Any] = []
        found["subscription_types"] = (
            len([d for d in types if d.is_active and not d.is_internal])
            if self._answers(lambda: types.extend(
                definitions.get_page().subscription_definitions or [])) else None)
        return Detected(self.kind, found, self.clock())

    def token_scopes(self) -> list[str] | None:
        """The scopes of a private app token, or None when HubSpot will not say (an OAuth
        token, or the call refused)."""
        try:
            body = self._post_json(TOKEN_INFO, {"tokenKey": self._token})
        except (AuthError, NotFoundError, SkipRecord) as exc:
            if exc.status == 401:  # not a private app token, or a bad one: a bad token is
                self._answers(self._probe_token)  # 401 everywhere, raised here
            return None
        scopes = body.get("scopes")
        return sorted(str(s) for s in scopes) if isinstance(scopes, list) else None

    def _probe_token(self) -> None:
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)
        api.get_page(limit=1, archived=False)

    def _answers(self, call: Callable[[], Any]) -> bool | None:
        """Whether the portal answers ``call``: a 403 (scope or plan) or 404 is no, another
        4xx unknown (None: the API is tried, and a 403 then turns it off); a 401 (the token
        itself) is raised."""
        try:
            call()
        except AuthError as exc:
            if exc.status == 401:
                raise
            return False
        except NotFoundError:
            return False
        except SkipRecord:
            return None
        return True

    def property_type(self, name: str) -> str | None:
        """The type of the contact property ``name`` (``GET /crm/v3/properties/contacts/
        {name}``); None when the portal has no such property."""
        api = self._api("properties", lambda: self.sdk.crm.properties.core_api)
        try:
            return str(api.get_by_name("contacts", name).type)
        except NotFoundError:
            return None

    def contact_property_names(self) -> set[str]:
        """Every contact property's name (``GET /crm/v3/properties/contacts``, one answer
        with no paging)."""
        api = self._api("properties", lambda: self.sdk.crm.properties.core_api)
        return {p.name for p in api.get_all("contacts", archived=False).results}

    def owners_page(self) -> int:
        """How many owners the first page of ``GET /crm/v3/owners`` lists."""
        api = self._api("owners", lambda: self.sdk.crm.owners.owners_api)
        return len(api.get_page(limit=100).results or [])

    def use_capabilities(self, detected: Detected) -> list[str]:
        """Use the APIs the portal answered; a declared ``crm.plan`` narrows them (an
        override) and each disagreement with the portal is said, with the fix."""
        allowed = PLAN_APIS.get(self.plan) if self.plan else None
        notes = []
        use = {}
        for api, (label, fallback) in API_WORDS.items():
            value = detected.found.get(api)  # None: unknown, tried until a 403
            declared = allowed is None or api in allowed
            use[api] = value is not False and declared
            if value is True and not declared:
                notes.append(f"crm.plan {self.plan} leaves {label} unused, though this "
                             f"portal answers it: {fallback}; fix: remove crm.plan from the "
                             "client file (what the portal answers is detected)")
            elif allowed is not None and declared and value is False:
                notes.append(f"crm.plan {self.plan} declares {label}, but this portal "
                             f"refuses it: {fallback}; fix: remove crm.plan, or give the "
                             "private app the plan and scope it needs")
        self._events_api_ok = use["events_api"]
        self._email_api_ok = use["email_events_api"]
        return notes

    # -- writes ---------------------------------------------------------------------------
    def ensure_score_property(self, prop: ScoreProperty) -> None:
        api = self._api("properties", lambda: self.sdk.crm.properties.core_api)
        self.score_property = prop.name
        self._group = prop.group
        if prop.name in self._ensured:
            return
        try:
            api.get_by_name("contacts", prop.name)
            self._ensured.add(prop.name)
            return
        except NotFoundError:
            pass
        groups = self._api("groups", lambda: self.sdk.crm.properties.groups_api)
        try:
            groups.get_by_name("contacts", prop.group)
        except NotFoundError:
            try:
                groups.create("contacts", PropertyGroupCreate(name=prop.group,
                                                              label=prop.group.title()))
            except SkipRecord as exc:
                if exc.status != 409:
                    raise
        try:
            api.create("contacts", PropertyCreate(
                name=prop.name, label=prop.label, type="number", field_type="number",
                group_name=prop.group, description=prop.description))
        except SkipRecord as exc:
            if exc.status != 409:
                raise
        self._ensured.add(prop.name)

    def write_scores(self, scores: Mapping[str, int]) -> WriteReport:
        items = [(str(cid), str(int(value))) for cid, value in scores.items()]
        return self._write_property(self.score_property, items)

    def _write_property(self, prop: str, items: list[tuple[str, str]]) -> WriteReport:
        """Write ``prop`` of each (contact id, value) with the batch update, 100 a call."""
        report = WriteReport()
        for start in range(0, len(items), BATCH):
            self._write_batch(prop, items[start:start + BATCH], report, retry=True)
        return report

    def _write_batch(self, prop: str, items: list[tuple[str, str]], report: WriteReport,
                     retry: bool) -> None:
        api = self._api("batch", lambda: self.sdk.crm.contacts.batch_api)
        body = BatchInputSimplePublicObjectBatchInput(inputs=[
            SimplePublicObjectBatchInput(id=cid, properties={prop: value})
            for cid, value in items])
        report.calls += 1
        try:
            result = api.update(batch_input_simple_public_object_batch_input=body)
        except SkipRecord as exc:
            # HubSpot rejects the whole batch for one invalid value: isolate it
            if len(items) == 1:
                report.failed[items[0][0]] = exc.detail
                return
            middle = len(items) // 2
            self._write_batch(prop, items[:middle], report, retry)
            self._write_batch(prop, items[middle:], report, retry)
            return
        done = {str(r.id) for r in (result.results or [])}
        report.written.extend(cid for cid, _ in items if cid in done)
        failed: dict[str, str] = {}
        gone: set[str] = set()
        for error in getattr(result, "errors", None) or []:
            for cid in (error.context or {}).get("ids", []):
                failed[str(cid)] = error.message
                if error.category == "OBJECT_NOT_FOUND":
                    gone.add(str(cid))
        missing = [(cid, v) for cid, v in items if cid not in done]
        retryable = [(cid, v) for cid, v in missing if cid not in gone]
        if retryable and retry:  # a 207 for other reasons may pass on a second try
            self._write_batch(prop, retryable, report, retry=False)
            missing = [(cid, v) for cid, v in missing if cid in gone]
        for cid, _ in missing:
            report.failed[cid] = failed.get(cid, "not confirmed by HubSpot")

    # -- warm-up marker -------------------------------------------------------------------
    # A datetime contact property (type datetime, fieldType date: "Property type and
    # fieldType values", https://developers.hubspot.com/docs/api/crm/properties); written as
    # ISO 8601 and read back as ISO 8601 in UTC.
    def get_invited_at(self, contact: Contact) -> datetime | None:
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)
        obj = api.get_by_id(contact.id, properties=[MARKER_NAME], archived=False)
        return _parse_time_or_none((obj.properties or {}).get(MARKER_NAME))

    def set_invited_at(self, contact: Contact, at: datetime) -> None:
        self._ensure_marker()
        api = self._api("contacts", lambda: self.sdk.crm.contacts.basic_api)
        api.update(contact.id, SimplePublicObjectInput(properties={MARKER_NAME: _iso(at)}))

    def set_invited_at_many(self, marks: Sequence[tuple[Contact, datetime]]) -> WriteReport:
        # the batch update the scores use (POST /crm/v3/objects/contacts/batch/update, 100
        # inputs a call: https://developers.hubspot.com/docs/api/crm/contacts, "Batch")
        self._ensure_marker()
        return self._write_property(MARKER_NAME, [(c.id, _iso(at)) for c, at in marks])

    def _ensure_marker(self) -> None:
        if MARKER_NAME in self._ensured:
            return
        api = self._api("properties", lambda: self.sdk.crm.properties.core_api)
        try:
            api.get_by_name("contacts", MARKER_NAME)
        except NotFoundError:
            try:
                api.create("contacts", PropertyCreate(
                    name=MARKER_NAME, label=MARKER_LABEL, type="datetime", field_type="date",
                    group_name=self._group, description=MARKER_DESCRIPTION))
            except SkipRecord as exc:
                if exc.status != 409:
                    raise
        self._ensured.add(MARKER_NAME)

    # -- people and actions -----------------------------------------------------------
    def get_owner(self, contact: Contact) -> Owner | None:
        if not contact.owner_id:
            return None
        return self._owner_map().get(contact.owner_id)

    def _owner_map(self) -> dict[str, Owner]:
        """The portal's owners by id, read once per run (every page)."""
        if self._owners is None:
            api = self._api("owners", lambda: self.sdk.crm.owners.owners_api)
            owners: dict[str, Owner] = {}
            for page in self._pages(lambda after: api.get_page(limit=100, after=after),
                                    "GET /crm/v3/owners"):
                for o in page.results:
                    name = " ".join(p for p in (o.first_name, o.last_name) if p) or o.email
                    owners[str(o.id)] = Owner(id=str(o.id), name=name, email=o.email)
            self._owners = owners
        return self._owners

    def create_task(self, contact: Contact, owner: Owner | None, subject: str, body: str) -> str:
        api = self._api("tasks", lambda: self.sdk.crm.objects.tasks.basic_api)
        props = {"hs_timestamp": self.clock().isoformat(), "hs_task_subject": subject,
                 "hs_task_body": body, "hs_task_status": "NOT_STARTED",
                 "hs_task_priority": "HIGH"}
        # hubspot_owner_id takes only an owner of the portal (its options are the owners:
        # https://knowledge.hubspot.com/records/edit-property-values, "Contact owner"); the
        # owner_fallback stand-in is no HubSpot owner, so its task stays unassigned and its
        # subject and body name who it is for.
        if owner and owner.id in self._owner_map():
            props["hubspot_owner_id"] = owner.id
        task = api.create(SimplePublicObjectInputForCreate(properties=props, associations=[{
            "to": {"id": contact.id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}]))
        return str(task.id)

    def add_tag(self, contact: Contact, tag: str) -> None:
        raise FixConfiguration("HubSpot contacts have no tags", crm=self.kind,
                               client=self.client_name, endpoint="add_tag",
                               fix="use invite.via: smtp or hubspot_task for HubSpot clients")

    def start_automation(self, contact: Contact, automation_id: str) -> None:
        raise FixConfiguration("automations are not started through this connector on HubSpot",
                               crm=self.kind, client=self.client_name,
                               endpoint="start_automation",
                               fix="use invite.via: smtp or hubspot_task for HubSpot clients")

    def unsubscribe(self, contact: Contact, list_id: str | None = None) -> None:
        if not contact.email:
            raise SkipRecord("the contact has no email address to unsubscribe", crm=self.kind,
                             client=self.client_name, endpoint="unsubscribe",
                             record_id=contact.id)
        status = self._api("status", lambda: self.sdk.communication_preferences.status_api)
        for sub in [list_id] if list_id else self._marketing_subscriptions():
            request = PublicUpdateSubscriptionStatusRequest(
                email_address=contact.email, subscription_id=str(sub),
                legal_basis="LEGITIMATE_INTEREST_CLIENT",
                legal_basis_explanation="Lead score reached the floor (connector)")
            try:
                status.unsubscribe(public_update_subscription_status_request=request)
            except SkipRecord as exc:
                if "already" not in exc.detail:
                    raise

    def _marketing_subscriptions(self) -> list[str]:
        """The portal's active, non-internal subscription types, read once per adapter (a
        run): they do not change between two contacts of one run."""
        if self._subscription_ids is None:
            definitions = self._api(
                "definitions", lambda: self.sdk.communication_preferences.definition_api)
            self._subscription_ids = [
                str(d.id) for d in definitions.get_page().subscription_definitions
                if d.is_active and not d.is_internal]
        return self._subscription_ids

    def close(self) -> None:
        self.pool.clear()


