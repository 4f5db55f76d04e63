"""A loopback HubSpot: the CRM v3 routes connector uses, with HubSpot's shapes and quirks.

Shapes follow the official SDK's models (tests deserialise every route into them): string
property values, ``null`` for unset properties, ISO timestamps on objects and epoch
milliseconds in search filters, ``paging.next.after`` cursors, the 10,000-result search
cap (asking past it is a 400), 207 Multi-Status for batch updates with unknown ids, a 400
VALIDATION_ERROR that rejects a whole batch with an invalid value, Bearer auth with
HubSpot's 401 body, the ten-second rolling limit and the separate search limit with
HubSpot's 429 body (no Retry-After). Several accounts, one per token.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.clock import Clock, SystemClock
from connector.models import Event, EventType, Owner
from connector.sandbox import hubspot_associations as associations
from connector.sandbox import hubspot_companies as companies
from connector.sandbox.faults import FaultPlan
from connector.sandbox.hubspot_http import (
    Invalid,
    ObjectSchema,
    hubspot_defined,
    iso,
    ms,
    search_page,
)
from connector.sandbox.hubspot_http import answer as _json
from connector.sandbox.hubspot_http import error as _error
from connector.sandbox.hubspot_http import json_body as _body
from connector.sandbox.hubspot_http import page_size as _limit
from connector.sandbox.hubspot_http import wanted as _wanted
from connector.sandbox.ledger import Entry, Ledger
from connector.sandbox.population import Population
from connector.sandbox.webhooks import HubSpotWebhooks

# the object types whose properties the properties API serves here (sandbox/
# hubspot_companies.py keeps the companies, hubspot_associations.py who belongs to which)
PROPERTIES = "/crm/v3/properties/<any(contacts, companies):object_type>"
CONTACT_PROPERTIES = (
    "email", "firstname", "lastname", "jobtitle", "company", "numberofemployees", "industry",
    "country", "lifecyclestage", "hubspot_owner_id", "hs_lifecyclestage_customer_date",
    "hs_email_open", "hs_email_click", "hs_email_first_open_date", "hs_email_last_open_date",
    "hs_email_first_click_date", "hs_email_last_click_date", "hs_analytics_num_page_views",
    "hs_analytics_num_visits", "hs_analytics_first_url", "hs_analytics_first_timestamp",
    "hs_analytics_first_visit_timestamp", "hs_analytics_last_url",
    "hs_analytics_last_timestamp", "hs_analytics_last_visit_timestamp",
    "num_conversion_events", "num_unique_conversion_events", "first_conversion_event_name",
    "first_conversion_date", "recent_conversion_event_name", "recent_conversion_date",
    "createdate", "lastmodifieddate", "hs_object_id",
)
DOWNLOAD_FORMS = ("guide", "ebook", "download")
SESSION_GAP = timedelta(minutes=30)
# Plans whose portals have no email events API: GET /email/public/v1/events needs the
# "content" scope (developers.hubspot.com/docs/api-reference/legacy/reporting/
# email-analytics/events/get-email-public-v1-events, "Scope requirements"). That Free and
# Starter portals lack it is how the independent servers of issue 14 behave (no per-email
# events on Starter); the stored docs do not list scopes per plan. A call without the
# scope is HubSpot's 403 MISSING_SCOPES (tests/corpus/hubspot/error_403_missing_scopes.json).
NO_EMAIL_EVENTS_PLANS = ("free", "starter")
# The scopes each route needs, any one of them (the "security" block of each operation in
# HubSpot's public spec collection, github.com/HubSpot/HubSpot-public-api-spec-collection:
# PublicApiSpecs/CRM/Contacts, Crm Owners, Properties, Tasks/Rollouts/*/v3, Communication
# Preferences/Subscriptions/Rollouts/147906/v3, Events/Events/Rollouts/147897/v3; the
# email events API's "content": see NO_EMAIL_EVENTS_PLANS). A token without them gets
# HubSpot's 403 MISSING_SCOPES.
READ = ("crm.objects.contacts.read",)
WRITE = ("crm.objects.contacts.write",)
ROUTE_SCOPES: dict[str, tuple[str, ...]] = {
    "list_contacts": READ, "search": READ, "get_contact": READ, "batch_update": WRITE,
    "update_contact": WRITE, "create_task": WRITE,
    "get_property": ("crm.objects.contacts.read", "crm.schemas.contacts.read"),
    "get_group": ("crm.objects.contacts.read", "crm.schemas.contacts.read"),
    "list_properties": ("crm.objects.contacts.read", "crm.schemas.contacts.read"),
    "create_property": ("crm.schemas.contacts.write",),
    "create_group": ("crm.schemas.contacts.write",),
    "owners": ("crm.objects.owners.read", "automation"),
    "events": ("oauth",), "email_events": ("content",),
    "definitions": ("communication_preferences.read", "communication_preferences.read_write"),
    "unsubscribe": ("communication_preferences.write", "communication_preferences.read_write"),
    **companies.ROUTE_SCOPES,
    **associations.ROUTE_SCOPES,
}
SEARCH_ROUTES = frozenset({"search"}) | companies.SEARCH_ROUTES
# what a private app made for connector is granted unless a test takes some away
DEFAULT_SCOPES = frozenset({"oauth", "crm.objects.contacts.read", "crm.objects.contacts.write",
                            "crm.schemas.contacts.read", "crm.schemas.contacts.write",
                            "crm.objects.companies.read", "crm.objects.companies.write",
                            "crm.schemas.companies.read", "crm.schemas.companies.write",
                            "crm.objects.owners.read", "content",
                            "communication_preferences.read_write"})
# The portal's private app holds the scopes connector asks for (contacts and companies,
# their schemas and properties, owners, tasks, communication preferences, and "content"
# for email events); HubSpot answers the APIs of other objects with 403 MISSING_SCOPES
# ("This app hasn't been granted all required scopes", developers.hubspot.com/docs/guides/
# apps/authentication/scopes; the recorded body is tests/corpus/hubspot/
# error_403_missing_scopes.json). Deals, tickets, custom-object schemas, lists, forms,
# workflows and campaigns are such APIs (tap-hubspot's discovery reads them and skips a
# stream on 403, as it does against a real portal without those scopes); so is the legacy
# v2 companies API, which the sandbox does not model (its v3 companies are in
# sandbox/hubspot_companies.py). Path prefix -> the scope it names.
OTHER_SCOPES: tuple[tuple[str, str], ...] = (
    ("/companies/", "crm.objects.companies.read"),
    ("/deals/", "crm.objects.deals.read"), ("/properties/v1/deals", "crm.objects.deals.read"),
    ("/crm/v3/objects/deals", "crm.objects.deals.read"),
    ("/crm/v3/properties/deals", "crm.schemas.deals.read"),
    ("/crm/v3/properties/tickets", "tickets"), ("/crm/v3/objects/tickets", "tickets"),
    ("/crm/v4/objects/tickets", "tickets"), ("/crm/v3/schemas", "crm.schemas.custom.read"),
    ("/crm/v3/lists", "crm.lists.read"), ("/forms/", "forms"),
    ("/form-integrations/", "forms"), ("/automation/", "automation"),
    ("/email/public/v1/campaigns", "content"),
)


class _Window:
    """HubSpot's rolling limit: ``limit`` requests per ``seconds``."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.sent: deque[float] = deque()
        self.lock = threading.Lock()

    def allow(self) -> tuple[bool, int]:
        with self.lock:
            now = time.monotonic()
            while self.sent and self.sent[0] <= now - self.seconds:
                self.sent.popleft()
            if len(self.sent) >= self.limit:
                return False, 0
            self.sent.append(now)
            return True, self.limit - len(self.sent)


class HubSpotAccount:
    """One portal: contacts (with engagement), companies, properties, owners, tasks,
    subscriptions."""

    def __init__(self, name: str, population: Population | None = None, *,
                 plan: str = "starter", clock: Clock | None = None,
                 ten_second_limit: int = 100, search_per_second: int = 5,
                 events_api: bool | None = None, email_events_api: bool | None = None,
                 scopes: Iterable[str] | None = None, date_skew: float = 0.0) -> None:
        self.name = name
        self.date_skew = date_skew  # seconds the portal's Date header is ahead of ours
        self.plan = plan
        # what the portal offers (None: as its plan gives it; False: HubSpot's 403 as for a
        # plan or scope that lacks it) and the scopes its private app token was granted
        self.events_api = plan == "enterprise" if events_api is None else events_api
        self.email_events_api = (plan not in NO_EMAIL_EVENTS_PLANS if email_events_api is None
                                 else email_events_api)
        # a portal without the email events API is one whose token lacks "content"
        self.scopes = frozenset(DEFAULT_SCOPES if scopes is None else scopes) - (
            set() if self.email_events_api else {"content"})
        self.hub_id = 62515
        # the account reads only wall time: its records and answers are stamped by it
        self.clock = (clock or SystemClock()).now
        self.lock = threading.RLock()
        self.contacts: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[Event]] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {"contactinformation": {
            "name": "contactinformation", "label": "Contact information", "displayOrder": 0,
            "archived": False}}
        self.contact_schema = ObjectSchema(
            "contacts", default_properties, frozenset(CONTACT_PROPERTIES) | DEFAULT_PROPERTIES,
            frozenset({"hs_object_id", "createdate", "lastmodifieddate"}), self.groups,
            self.properties)
        self.companies = companies.CompanyBook(self.clock)
        self.owners: list[Owner] = []
        self.tasks: list[dict[str, Any]] = []
        self.unsubscribed: dict[str, set[str]] = {}
        self.window = _Window(ten_second_limit, 10.0)
        self.search_window = _Window(search_per_second, 1.0)
        self._sorted: list[tuple[int, int]] | None = None
        self._ids: list[int] | None = None
        self.by_email: dict[str, str] = {}  # lower-cased email -> contact id
        self.webhooks: HubSpotWebhooks | None = None
        if population is not None:
            self.load(population)

    # -- seeding ----------------------------------------------------------------------
    def load(self, population: Population) -> None:
        with self.lock:
            self.owners = list(population.owners)
            for person in population:
                self.add_contact(person.contact, person.events)

    def add_contact(self, contact: Any, events: Iterable[Event] = ()) -> None:
        f = contact.fields
        created = contact.created_at or self.clock()
        updated = contact.updated_at or created
        props: dict[str, str | None] = {
            "email": contact.email, "firstname": f.get("first_name"),
            "lastname": f.get("last_name"), "jobtitle": f.get("job_title"),
            "company": f.get("company"), "numberofemployees": f.get("company_size"),
            "industry": f.get("industry"), "country": f.get("country"),
            "lifecyclestage": f.get("lifecycle_stage") or "lead",
            "hubspot_owner_id": contact.owner_id,
            "hs_lifecyclestage_customer_date": iso(contact.customer_at)
            if contact.customer_at else None,
            "createdate": iso(created), "hs_object_id": contact.id,
        }
        with self.lock:
            self.contacts[contact.id] = {"props": props, "created": created,
                                         "updated": updated}
            self.events[contact.id] = list(events)
            props.update(engagement_properties(self.events[contact.id]))
            if contact.email:
                self.by_email[contact.email.lower()] = contact.id
            self.companies.join(contact)
            self._sorted = None
            self._ids = None

    def add_event(self, event: Event) -> None:
        """The contact did something now: engagement properties move, the contact is
        modified."""
        with self.lock:
            events = self.events[event.contact_id]
            props = self.contacts[event.contact_id]["props"]
            before = dict(props)
            events.append(event)
            props.update(engagement_properties(events))
            self._touch(event.contact_id)
            if self.webhooks is not None:  # the app's subscription (sandbox/webhooks.py)
                self.webhooks.property_changes(event.contact_id, before, props)

    def send_webhooks(self, url: str, app_secret: str,
                      properties: tuple[str, ...] = ()) -> HubSpotWebhooks:
        """Subscribe an app: from now on engagement that moves a contact property (those
        in ``properties``; all when empty) is posted, v3-signed, to ``url``."""
        self.webhooks = HubSpotWebhooks(url, app_secret=app_secret, properties=properties)
        return self.webhooks

    def _touch(self, contact_id: str) -> None:
        self.contacts[contact_id]["updated"] = self.clock()
        self._sorted = None

    def schema(self, object_type: str) -> ObjectSchema:
        """The properties of ``object_type`` ("contacts" or "companies")."""
        return self.contact_schema if object_type == "contacts" else self.companies.schema

    def score_of(self, contact_id: str, prop: str) -> str | None:
        return self.contacts[contact_id]["props"].get(prop)

    # -- views ------------------------------------------------------------------------
    def public_object(self, contact_id: str, wanted: list[str] | None) -> dict[str, Any]:
        record = self.contacts[contact_id]
        props = dict(record["props"])
        props["lastmodifieddate"] = iso(record["updated"])
        names = wanted if wanted else ["email", "firstname", "lastname"]
        out = {n: props.get(n) for n in names}
        for always in ("createdate", "hs_object_id", "lastmodifieddate"):
            out[always] = props[always]
        return {"id": contact_id, "properties": out, "createdAt": iso(record["created"]),
                "updatedAt": iso(record["updated"]), "archived": False}

    def sorted_ids(self) -> list[int]:
        with self.lock:
            if self._ids is None:
                self._ids = sorted(int(cid) for cid in self.contacts)
            return self._ids

    def sorted_by_update(self) -> list[tuple[int, int]]:
        with self.lock:
            if self._sorted is None:
                self._sorted = sorted((ms(r["updated"]), int(cid))
                                      for cid, r in self.contacts.items())
            return self._sorted


class HubSpotSandbox(companies.CompanyRoutes, associations.AssociationRoutes):
    """The WSGI app. ``accounts`` maps tokens to portals; ``faults`` and ``ledger`` are
    shared by all of them."""

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self.accounts: dict[str, HubSpotAccount] = {}
        self.faults = faults or FaultPlan()
        self.ledger = Ledger()
        self.url_map = Map([
            Rule("/crm/v3/objects/contacts", endpoint="list_contacts", methods=["GET"]),
            Rule("/crm/v3/objects/contacts/search", endpoint="search", methods=["POST"]),
            Rule("/crm/v3/objects/contacts/batch/update", endpoint="batch_update",
                 methods=["POST"]),
            Rule("/crm/v3/objects/contacts/<contact_id>", endpoint="get_contact",
                 methods=["GET"]),
            Rule("/crm/v3/objects/contacts/<contact_id>", endpoint="update_contact",
                 methods=["PATCH"]),
            Rule(f"{PROPERTIES}/groups", endpoint="create_group", methods=["POST"]),
            Rule(f"{PROPERTIES}/groups/<name>", endpoint="get_group", methods=["GET"]),
            Rule(PROPERTIES, endpoint="create_property", methods=["POST"]),
            Rule(PROPERTIES, endpoint="list_properties", methods=["GET"]),
            Rule(f"{PROPERTIES}/<name>", endpoint="get_property", methods=["GET"]),
            Rule("/crm/v3/owners/", endpoint="owners", methods=["GET"]),
            Rule("/crm/v3/owners", endpoint="owners", methods=["GET"]),
            Rule("/crm/v3/objects/tasks", endpoint="create_task", methods=["POST"]),
            Rule("/events/v3/events", endpoint="events", methods=["GET"]),
            Rule("/events/v3/events/", endpoint="events", methods=["GET"]),
            Rule("/email/public/v1/events", endpoint="email_events", methods=["GET"]),
            Rule("/communication-preferences/v3/definitions", endpoint="definitions",
                 methods=["GET"]),
            Rule("/communication-preferences/v3/unsubscribe", endpoint="unsubscribe",
                 methods=["POST"]),
            Rule("/oauth/v2/private-apps/get/access-token-info", endpoint="token_info",
                 methods=["POST"]),
            Rule("/__sandbox/faults", endpoint="admin_faults", methods=["GET", "POST"]),
            # unbound copies: one map each
            *(rule.empty() for rule in (*companies.RULES, *associations.RULES)),
        ], strict_slashes=False)

    def add_account(self, token: str, account: HubSpotAccount) -> HubSpotAccount:
        self.accounts[token] = account
        return account

    # -- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        token = _bearer(request)
        account = self.accounts.get(token or "")
        path = request.path
        try:
            response = self._dispatch(request, account, token)
        except HTTPException as exc:
            response = _error(exc.code or 500, exc.description or "error", "OBJECT_NOT_FOUND")
        except (Invalid, ValueError, TypeError, KeyError, AttributeError) as exc:
            # Input the route cannot read (a non-number limit, a body of the wrong shape):
            # HubSpot answers a JSON 400 VALIDATION_ERROR in its error shape (the "Error"
            # schema of every CRM v3 OpenAPI document, e.g. github.com/HubSpot/HubSpot-
            # public-api-spec-collection PublicApiSpecs/CRM/Contacts/Rollouts/424/v3/
            # contacts.json, components.schemas.Error), never an HTML 500
            response = _error(400, f"Invalid input: {exc}", "VALIDATION_ERROR")
        self.ledger.record(Entry(request.method, path, token,
                                 account.name if account else None, response.status_code))
        return response

    def _dispatch(self, request: Request, account: HubSpotAccount | None,
                  token: str | None) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            scope = next((scope for prefix, scope in OTHER_SCOPES
                          if request.path.startswith(prefix)), None)
            if account is not None and scope is not None:
                return _missing_scopes((scope,))
            raise
        if endpoint == "admin_faults":
            return self.admin_faults(request)
        if endpoint == "token_info":
            return self.token_info(request)
        if account is None:
            return _error(401, "Authentication credentials not found. This API supports OAuth "
                          "2.0 authentication and you can find more details at "
                          "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                          "INVALID_AUTHENTICATION")
        fault = self.faults.decide(request.path) if self.faults.active else None
        if fault:
            injected = self._fault(fault)
            if injected is not None:
                return injected
        search = endpoint in SEARCH_ROUTES
        counted = not search and endpoint not in associations.TEN_SECONDLY_EXEMPT
        allowed, remaining = (account.search_window.allow() if search else
                              account.window.allow() if counted else (True, 0))
        if not allowed:
            return _rate_limited("SECONDLY" if search else "TEN_SECONDLY_ROLLING")
        needed = ROUTE_SCOPES.get(endpoint, ())
        if args.get("object_type") == "companies" and endpoint.endswith(("_property",
                                                                          "_properties",
                                                                          "_group")):
            # a companies property route needs the companies' scopes of the same kind
            needed = tuple(s.replace(".contacts.", ".companies.") for s in needed)
        if needed and not account.scopes & set(needed):
            response = _missing_scopes(needed)
        else:
            with account.lock:
                response = getattr(self, endpoint)(request, account, **args)
        if counted:
            response.headers["X-HubSpot-RateLimit-Max"] = str(account.window.limit)
            response.headers["X-HubSpot-RateLimit-Remaining"] = str(remaining)
            response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
        response.headers["X-HubSpot-RateLimit-Daily"] = "250000"
        response.headers["X-HubSpot-RateLimit-Daily-Remaining"] = "249000"
        if account.date_skew:  # a portal whose clock is off ours (the Date header, RFC 9110)
            response.headers["Date"] = formatdate(time.time() + account.date_skew,
                                                  usegmt=True)
        return response

    def _fault(self, fault: str) -> Response | None:
        if fault == "rate_limit":
            response = _rate_limited("TEN_SECONDLY_ROLLING")
            if self.faults.retry_after is not None:
                response.headers["Retry-After"] = str(self.faults.retry_after)
            return response
        if fault == "server_error":
            return _error(502, "Bad gateway", "INTERNAL_ERROR")
        if fault == "latency":
            self.faults.pause()
            return None
        if fault == "reset":
            return Response(_cut(), status=200, mimetype="application/json",
                            headers={"Content-Length": "5000"})
        return Response('{"results": [{"id": "1", "prop', status=200,
                        mimetype="application/json")

    # -- routes --------------------------------------------------------------------------
    def list_contacts(self, request: Request, account: HubSpotAccount) -> Response:
        limit = _limit(request.args.get("limit"), 10, 100)
        after = request.args.get("after")
        wanted = _wanted(request.args.getlist("properties"))
        ids = account.sorted_ids()
        start = bisect.bisect_right(ids, int(after)) if after else 0
        page = ids[start:start + limit]
        body: dict[str, Any] = {"results": [
            self.linked(request, account, account.public_object(str(cid), wanted))
            for cid in page]}
        if start + limit < len(ids):
            nxt = str(page[-1])
            body["paging"] = {"next": {"after": nxt, "link": f"{request.base_url}?after={nxt}"}}
        return _json(body)

    def search(self, request: Request, account: HubSpotAccount) -> Response:
        body = _body(request)
        asked = search_page(body)
        if isinstance(asked, Response):
            return asked
        limit, after, groups = asked
        rows = account.sorted_by_update()
        matched = [r for r in rows if _matches(r, groups)]
        sorts = body.get("sorts") or []
        if sorts and _descending(sorts[0]):
            matched = matched[::-1]
        page = matched[after:after + limit]
        wanted = _wanted(body.get("properties") or [])
        out: dict[str, Any] = {"total": len(matched),
                               "results": [account.public_object(str(cid), wanted)
                                           for _, cid in page]}
        if after + limit < len(matched):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return _json(out)

    def batch_update(self, request: Request, account: HubSpotAccount) -> Response:
        inputs = _body(request).get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "Batch size must be at most 100", "VALIDATION_ERROR")
        for item in inputs:
            for name, value in (item.get("properties") or {}).items():
                problem = account.contact_schema.invalid(name, value)
                if problem:
                    return _error(400, f"Property values were not valid: {problem}",
                                  "VALIDATION_ERROR", errors=[{"message": problem,
                                                               "code": "INVALID_INTEGER"}],
                                  context={"propertyName": [name]})
        results, missing, flaky = [], [], []
        started = iso(account.clock())
        for item in inputs:
            cid = str(item.get("id"))
            if cid not in account.contacts:
                missing.append(cid)
                continue
            if self.faults.fail_record():
                flaky.append(cid)
                continue
            before = dict(account.contacts[cid]["props"])
            account.contacts[cid]["props"].update(
                {k: account.contact_schema.stored(k, v)
                 for k, v in item["properties"].items()})
            account._touch(cid)
            if account.webhooks is not None:  # an API write fires the subscription too
                account.webhooks.property_changes(cid, before, account.contacts[cid]["props"],
                                                  source="INTEGRATION")
            results.append(account.public_object(cid, list(item["properties"])))
        body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                                "completedAt": iso(account.clock())}
        errors = []
        if missing:
            errors.append({
                "status": "error", "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some CONTACT objects, they may be deleted or not "
                           "exist. Check that ids are valid.",
                "context": {"ids": missing}, "links": {}, "errors": []})
        if flaky:
            errors.append({"status": "error", "category": "INTERNAL_ERROR",
                           "message": "Unable to update some records; try again.",
                           "context": {"ids": flaky}, "links": {}, "errors": []})
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = errors
            return _json(body, 207)
        return _json(body)

    # Read / update one contact: GET and PATCH /crm/v3/objects/contacts/{contactId} (the
    # SDK's crm.contacts.basic_api get_by_id / update; SimplePublicObject answers).
    def get_contact(self, request: Request, account: HubSpotAccount,
                    contact_id: str) -> Response:
        if contact_id not in account.contacts:
            return _error(404, "resource not found", "OBJECT_NOT_FOUND")
        return _json(self.linked(request, account, account.public_object(
            contact_id, _wanted(request.args.getlist("properties")))))

    def update_contact(self, request: Request, account: HubSpotAccount,
                       contact_id: str) -> Response:
        if contact_id not in account.contacts:
            return _error(404, "resource not found", "OBJECT_NOT_FOUND")
        props = _body(request).get("properties") or {}
        for name, value in props.items():
            problem = account.contact_schema.invalid(name, value)
            if problem:
                return _error(400, f"Property values were not valid: {problem}",
                              "VALIDATION_ERROR", errors=[{"message": problem}],
                              context={"propertyName": [name]})
        account.contacts[contact_id]["props"].update(
            {k: account.contact_schema.stored(k, v) for k, v in props.items()})
        account._touch(contact_id)
        return _json(account.public_object(contact_id, list(props)))

    # The properties API serves every object type alike (GET/POST /crm/v3/properties/
    # {objectType}, .../{propertyName}, .../groups, .../groups/{groupName}: PublicApiSpecs/
    # CRM/Properties/Rollouts/145899/v3/properties.json); the sandbox keeps contacts' and
    # companies' (``object_type``), each with its own defaults, groups and properties.
    def get_group(self, request: Request, account: HubSpotAccount, object_type: str,
                  name: str) -> Response:
        groups = account.schema(object_type).groups
        if name not in groups:
            return _error(404, f"Unable to find property group {name}", "OBJECT_NOT_FOUND")
        return _json(groups[name])

    def create_group(self, request: Request, account: HubSpotAccount,
                     object_type: str) -> Response:
        groups = account.schema(object_type).groups
        body = _body(request)
        name = body.get("name")
        if not name or not body.get("label"):
            return _error(400, "name and label are required", "VALIDATION_ERROR")
        # PropertyGroupCreate: name and label strings, displayOrder an integer
        # (PublicApiSpecs/CRM/Properties/Rollouts/145899/v3/properties.json)
        if not isinstance(name, str) or not isinstance(body["label"], str):
            raise Invalid("name and label must be strings")
        if name in groups:
            return _error(409, f"Property group {name} already exists", "CONFLICT")
        groups[name] = {"name": name, "label": body["label"],
                        "displayOrder": int(str(body.get("displayOrder", -1))),
                        "archived": False}
        return _json(groups[name], 201)

    def list_properties(self, request: Request, account: HubSpotAccount,
                        object_type: str) -> Response:
        """GET /crm/v3/properties/{objectType}: HubSpot's default properties the sandbox
        keeps, then the portal's own (CollectionResponsePropertyNoPaging;
        tests/corpus/hubspot/properties_contacts_engagement.json)."""
        schema = account.schema(object_type)
        return _json({"results": [*schema.defaults(), *schema.properties.values()]})

    def get_property(self, request: Request, account: HubSpotAccount, object_type: str,
                     name: str) -> Response:
        schema = account.schema(object_type)
        if name in schema.properties:
            return _json(schema.properties[name])
        found = next((p for p in schema.defaults() if p["name"] == name), None)
        if found is None:
            return _error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
        return _json(found)

    def create_property(self, request: Request, account: HubSpotAccount,
                        object_type: str) -> Response:
        schema = account.schema(object_type)
        body = _body(request)
        required = ("name", "label", "type", "fieldType", "groupName")
        if any(not body.get(k) for k in required):
            return _error(400, f"{', '.join(required)} are required", "VALIDATION_ERROR")
        # PropertyCreate: these are strings, type and fieldType from their enums
        # (PublicApiSpecs/CRM/Properties/Rollouts/145899/v3/properties.json)
        if any(not isinstance(body.get(k), str) for k in (*required, "description")
               if k in body):
            raise Invalid(f"{', '.join(required)} and description must be strings")
        if body["type"] not in PROPERTY_TYPES or body["fieldType"] not in FIELD_TYPES:
            raise Invalid(f"type must be one of {PROPERTY_TYPES}, fieldType one of "
                          f"{FIELD_TYPES}")
        if body["groupName"] not in schema.groups:
            return _error(400, f"group {body['groupName']} does not exist", "VALIDATION_ERROR")
        name = body["name"]
        if name in schema.properties or name in schema.builtin:
            return _error(409, f"A property named '{name}' already exists.",
                          "OBJECT_ALREADY_EXISTS")
        now = iso(account.clock())
        schema.properties[name] = {
            "name": name, "label": body["label"], "type": body["type"],
            "fieldType": body["fieldType"], "groupName": body["groupName"],
            "description": body.get("description", ""), "options": [],
            "displayOrder": -1, "calculated": False, "externalOptions": False,
            "hasUniqueValue": False, "hidden": False, "formField": False,
            "createdAt": now, "updatedAt": now, "archived": False,
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": False,
                                     "readOnlyValue": False},
        }
        response = _json(schema.properties[name], 201)
        response.headers["Location"] = f"/crm/v3/properties/{object_type}/{name}"
        return response

    def owners(self, request: Request, account: HubSpotAccount) -> Response:
        now = iso(account.clock())
        results = []
        for owner in account.owners:
            first, _, last = owner.name.partition(" ")
            # an owner without an email (the SDK's PublicOwner.email is optional) has none
            email = {"email": owner.email} if owner.email else {}
            results.append({"id": owner.id, **email, "type": "PERSON",
                            "firstName": first, "lastName": last, "userId": int(owner.id),
                            "userIdIncludingInactive": int(owner.id),
                            "createdAt": now, "updatedAt": now, "archived": False,
                            "teams": [{"id": "3401", "name": "Sales", "primary": True}]})
        return _json({"results": results})

    def create_task(self, request: Request, account: HubSpotAccount) -> Response:
        body = _body(request)
        props = body.get("properties") or {}
        if not props.get("hs_timestamp"):
            return _error(400, "Property hs_timestamp is required", "VALIDATION_ERROR")
        owner = props.get("hubspot_owner_id")
        if owner and owner not in {str(o.id) for o in account.owners}:
            # an enumeration property takes only its options; hubspot_owner_id's are the
            # portal's owners (the error's wording is unverified: HubSpot's
            # VALIDATION_ERROR shape with the property's name)
            return _error(400, f"Property values were not valid: {owner!r} is not a valid "
                          "owner id for hubspot_owner_id", "VALIDATION_ERROR",
                          errors=[{"message": f"{owner} is not a valid owner id",
                                   "code": "INVALID_OWNER_ID",
                                   "context": {"propertyName": ["hubspot_owner_id"]}}])
        task_id = str(len(account.tasks) + 1)
        now = iso(account.clock())
        account.tasks.append({"id": task_id, "properties": props,
                              "associations": body.get("associations") or []})
        return _json({"id": task_id, "properties": props, "createdAt": now, "updatedAt": now,
                      "archived": False}, 201)

    def events(self, request: Request, account: HubSpotAccount) -> Response:
        if not account.events_api:
            return _error(403, "This endpoint requires an Enterprise subscription.",
                          "MISSING_SCOPES")
        cid = request.args.get("objectId", "")
        event_type = request.args.get("eventType")
        after = int(request.args.get("after") or 0)
        limit = _limit(request.args.get("limit"), 100, 1000)
        # occurredAfter / occurredBefore (date-time) bound the events' occurredAt
        # (PublicApiSpecs/Events/Events/Rollouts/147897/v3/events.json, GET /events/v3/
        # events parameters; developers.hubspot.com/docs/api-reference/events-event-
        # analytics-v3/guide "Filter events by time")
        since = _when(request.args.get("occurredAfter"))
        until = _when(request.args.get("occurredBefore"))
        if cid not in account.contacts:
            return _json({"results": []})
        items = []
        for event in sorted(account.events[cid], key=lambda e: (e.occurred_at, e.id)):
            if (since and event.occurred_at <= since) or (until and event.occurred_at >= until):
                continue
            mapped = _analytics_event(event)
            if mapped and (event_type is None or mapped["eventType"] == event_type):
                items.append(mapped)
        page = items[after:after + limit]
        body: dict[str, Any] = {"results": page}
        if after + limit < len(items):
            nxt = str(after + limit)
            body["paging"] = {"next": {"after": nxt, "link": f"{request.base_url}?"
                                       f"objectType=contact&objectId={cid}&after={nxt}"}}
        return _json(body)

    def email_events(self, request: Request, account: HubSpotAccount) -> Response:
        recipient = (request.args.get("recipient") or "").lower()
        wanted = request.args.get("eventType")
        offset = int(request.args.get("offset") or 0)
        limit = _limit(request.args.get("limit"), 100, 1000)
        start = request.args.get("startTimestamp")
        end = request.args.get("endTimestamp")
        # every filter is optional: without ``recipient`` the portal's events in the
        # window (startTimestamp/endTimestamp, epoch ms, both inclusive) are listed
        # (developers.hubspot.com/docs/api-reference/legacy/reporting/email-analytics/
        # events/get-email-public-v1-events, "Query parameters"; tap-hubspot's
        # email_events stream reads it so)
        if recipient:
            cids = [account.by_email[recipient]] if recipient in account.by_email else []
        else:
            cids = list(account.contacts)
        rows = sorted(((event, account.contacts[cid]["props"].get("email") or "")
                       for cid in cids for event in account.events[cid]),
                      key=lambda row: (row[0].occurred_at, row[0].id))
        items = []
        for event, address in rows:
            kind = {EventType.EMAIL_OPEN: "OPEN", EventType.EMAIL_CLICK: "CLICK"}.get(
                event.type)  # type: ignore[call-overload]
            if kind is None or (wanted and kind != wanted):
                continue
            if start and ms(event.occurred_at) < int(start):
                continue
            if end and ms(event.occurred_at) > int(end):
                continue
            # fields as the email analytics v1 reference lists them (events/{created}/{id})
            item = {"id": event.id, "type": kind, "recipient": address.lower(),
                    "created": ms(event.occurred_at), "portalId": 62515,
                    "appId": 113, "appName": "BatchEmail",
                    "emailCampaignId": _campaign_id(event.email_id),
                    "sentBy": {"id": f"sent-{event.email_id}",
                               "created": ms(event.occurred_at) - 3_600_000}}
            if kind == "CLICK":
                item["url"] = event.url
            items.append(item)
        page = items[offset:offset + limit]
        return _json({"events": page, "hasMore": offset + limit < len(items),
                      "offset": str(offset + len(page))})

    def definitions(self, request: Request, account: HubSpotAccount) -> Response:
        now = iso(account.clock())
        return _json({"subscriptionDefinitions": [{
            "id": "7001", "name": "Marketing newsletter", "description": "Monthly news",
            "purpose": "Marketing", "communicationMethod": "Email",
            "isActive": True, "isDefault": True, "isInternal": False, "createdAt": now,
            "updatedAt": now}]})

    def unsubscribe(self, request: Request, account: HubSpotAccount) -> Response:
        body = _body(request)
        email = (body.get("emailAddress") or "").lower()
        sub = str(body.get("subscriptionId") or "")
        if not email or not sub:
            return _error(400, "emailAddress and subscriptionId are required",
                          "VALIDATION_ERROR")
        already = sub in account.unsubscribed.get(email, set())
        if already:
            return _error(400, f"{email} is already unsubscribed from subscription {sub}",
                          "VALIDATION_ERROR")
        account.unsubscribed.setdefault(email, set()).add(sub)
        cid = account.by_email.get(email)
        if cid:
            account._touch(cid)
        # PublicSubscriptionStatus: legalBasis and its explanation are optional strings,
        # absent when not given, never null (PublicApiSpecs/Communication Preferences/
        # Subscriptions/Rollouts/147906/v3/subscriptions.json)
        answer = {"id": sub, "name": "Marketing newsletter", "description": "Monthly news",
                  "status": "NOT_SUBSCRIBED", "sourceOfStatus": "SUBSCRIPTION_STATUS"}
        for key in ("legalBasis", "legalBasisExplanation"):
            if body.get(key) is not None:
                answer[key] = str(body[key])
        return _json(answer)

    def token_info(self, request: Request) -> Response:
        """A private app token's portal and scopes: ``POST /oauth/v2/private-apps/get/
        access-token-info`` with ``{"tokenKey": ...}`` (documented at the end of
        developers.hubspot.com/docs/api/private-apps; the answer's fields ``userId``,
        ``hubId``, ``appId``, ``scopes`` are what public integrations read: unverified)."""
        key = str((request.get_json(silent=True) or {}).get("tokenKey") or "")
        account = self.accounts.get(key)
        if account is None:
            return _error(401, "The access token provided is invalid.", "INVALID_AUTHENTICATION")
        return _json({"userId": 1, "hubId": account.hub_id, "appId": 1,
                      "scopes": sorted(account.scopes)})

    def admin_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.faults.update(**_body(request))
            except (ValueError, TypeError) as exc:
                return _json({"message": str(exc)}, 400)
        return _json({k: v for k, v in vars(self.faults).items() if not k.startswith("_")})


# -- helpers ---------------------------------------------------------------------------
def engagement_properties(events: Iterable[Event]) -> dict[str, str | None]:
    """The contact's engagement properties as HubSpot keeps them, from everything the
    contact did (HubSpot's default contact properties, knowledge.hubspot.com/properties/
    hubspots-default-contact-properties; names and types as GET /crm/v3/properties/contacts
    lists them, tests/corpus/hubspot/properties_contacts_engagement.json):

    - "Marketing emails opened / clicked" (hs_email_open / hs_email_click) count EMAILS:
      a repeat open of the same email moves only hs_email_last_open_date;
    - "Number of Pageviews", "Number of Sessions" ("Sessions expire after 30 minutes of
      visitor inactivity": knowledge.hubspot.com/articles/kcs_article/reports/
      what-is-the-difference-between-sessions-visitors-visits-and-page-views), "First /
      Last Page Seen" with "Time First / Last Seen", "Time of First / Last Session" (the
      session's start);
    - "Number of Form Submissions", "Number of Unique Forms Submitted", "First / Recent
      Conversion" with their dates.
    Unset properties are null; values are strings, dates ISO 8601 in UTC."""
    views: list[Event] = []
    opens: list[Event] = []
    clicks: list[Event] = []
    forms: list[Event] = []
    for event in sorted(events, key=lambda e: (e.occurred_at, e.id)):
        {EventType.PAGE_VIEW: views, EventType.EMAIL_OPEN: opens,
         EventType.EMAIL_CLICK: clicks, EventType.FORM_SUBMISSION: forms,
         EventType.DOWNLOAD: forms}.get(event.type, []).append(event)  # type: ignore[call-overload]
    out: dict[str, str | None] = {}
    sessions = [v for i, v in enumerate(views)
                if i == 0 or v.occurred_at - views[i - 1].occurred_at > SESSION_GAP]
    out["hs_analytics_num_page_views"] = str(len(views)) if views else None
    out["hs_analytics_num_visits"] = str(len(sessions)) if views else None
    for end, view, session in (("first", views[:1], sessions[:1]),
                               ("last", views[-1:], sessions[-1:])):
        out[f"hs_analytics_{end}_url"] = view[0].url if view else None
        out[f"hs_analytics_{end}_timestamp"] = iso(view[0].occurred_at) if view else None
        out[f"hs_analytics_{end}_visit_timestamp"] = \
            iso(session[0].occurred_at) if session else None
    for word, items in (("open", opens), ("click", clicks)):
        emails = {e.email_id or e.id for e in items}
        out[f"hs_email_{word}"] = str(len(emails)) if items else None
        out[f"hs_email_first_{word}_date"] = iso(items[0].occurred_at) if items else None
        out[f"hs_email_last_{word}_date"] = iso(items[-1].occurred_at) if items else None
    out["num_conversion_events"] = str(len(forms)) if forms else None
    out["num_unique_conversion_events"] = \
        str(len({f.name for f in forms})) if forms else None
    for end, form in (("first", forms[:1]), ("recent", forms[-1:])):
        out[f"{end}_conversion_event_name"] = form[0].name if form else None
        out[f"{end}_conversion_date"] = iso(form[0].occurred_at) if form else None
    return out


def _missing_scopes(scopes: Iterable[str]) -> Response:
    """HubSpot's 403 for a token or plan without a scope (the recorded body is
    tests/corpus/hubspot/error_403_missing_scopes.json)."""
    return _error(403, "This app hasn't been granted all required scopes to make this call. "
                  "Read more about required scopes here: https://developers.hubspot.com/scopes.",
                  "MISSING_SCOPES",
                  errors=[{"message": "One or more of the following scopes are required.",
                           "context": {"requiredGranularScopes": list(scopes)}}],
                  links={"scopes": "https://developers.hubspot.com/scopes"})


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _rate_limited(policy: str) -> Response:
    """HubSpot's 429: errorType RATE_LIMIT and the policy, no category and no Retry-After
    (developers.hubspot.com/docs/guides/apps/api-usage/usage-details; the recorded body is
    tests/corpus/hubspot/error_429_ten_secondly.json)."""
    body = {"status": "error", "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()), "policyName": policy}
    return Response(json.dumps(body), status=429, mimetype="application/json")


def _cut() -> Iterable[bytes]:
    yield b'{"results": ['
    raise ConnectionResetError("sandbox: connection reset")


def _campaign_id(email_id: str | None) -> int:
    digits = "".join(ch for ch in (email_id or "0") if ch.isdigit())
    return int(digits or 0)


def _analytics_event(event: Event) -> dict[str, Any] | None:
    if event.type == EventType.PAGE_VIEW:
        kind, props = "e_visited_page", {"hs_url": event.url or ""}
    elif event.type in (EventType.FORM_SUBMISSION, EventType.DOWNLOAD):
        kind, props = "e_submitted_form", {"hs_form_title": event.name or "",
                                            "hs_url": event.url or ""}
    else:
        return None
    return {"id": event.id, "eventType": kind, "objectType": "contact",
            "objectId": event.contact_id, "occurredAt": iso(event.occurred_at),
            "properties": props}


def _descending(sort: Any) -> bool:
    if isinstance(sort, dict):
        return str(sort.get("direction", "ASCENDING")).upper().startswith("DESC")
    return str(sort).startswith("-")


def _matches(row: tuple[int, int], groups: list[dict[str, Any]]) -> bool:
    if not groups:
        return True
    return any(all(_filter_ok(row, f) for f in g.get("filters", [])) for g in groups)


def _filter_ok(row: tuple[int, int], f: dict[str, Any]) -> bool:
    name, op = f.get("propertyName"), f.get("operator", "EQ")
    if name == "lastmodifieddate":
        left = row[0]
    elif name == "hs_object_id":
        left = row[1]
    else:
        return True
    right = int(float(f.get("value", 0)))
    return {"GTE": left >= right, "GT": left > right, "LTE": left <= right,
            "LT": left < right, "EQ": left == right, "NEQ": left != right}.get(op, True)


def _when(raw: str | None) -> datetime | None:
    if not raw:
        return None
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


PROPERTY_TYPES = ("bool", "date", "datetime", "enumeration", "number", "phone_number",
                  "string")
FIELD_TYPES = ("booleancheckbox", "calculation_equation", "checkbox", "date", "file",
               "html", "number", "phonenumber", "radio", "select", "text", "textarea")
# HubSpot's default contact properties the sandbox keeps: (name, label, type, group);
# names, labels and types from knowledge.hubspot.com/properties/hubspots-default-contact-
# properties and tests/corpus/hubspot/properties_contacts_engagement.json
_DEFAULTS: tuple[tuple[str, str, str, str], ...] = (
    ("email", "Email", "string", "contactinformation"),
    ("firstname", "First Name", "string", "contactinformation"),
    ("lastname", "Last Name", "string", "contactinformation"),
    ("jobtitle", "Job Title", "string", "contactinformation"),
    ("company", "Company Name", "string", "contactinformation"),
    ("numberofemployees", "Number of Employees", "enumeration", "contactinformation"),
    ("industry", "Industry", "string", "contactinformation"),
    ("country", "Country/Region", "string", "contactinformation"),
    ("lifecyclestage", "Lifecycle Stage", "enumeration", "contactinformation"),
    ("hubspot_owner_id", "Contact owner", "enumeration", "sales_properties"),
    ("hs_lifecyclestage_customer_date", "Date entered 'Customer (Lifecycle Stage Pipeline)'",
     "datetime", "contactinformation"),
    ("hs_email_open", "Marketing emails opened", "number", "emailinformation"),
    ("hs_email_click", "Marketing emails clicked", "number", "emailinformation"),
    ("hs_email_first_open_date", "First marketing email open date", "datetime",
     "emailinformation"),
    ("hs_email_last_open_date", "Last marketing email open date", "datetime",
     "emailinformation"),
    ("hs_email_first_click_date", "First marketing email click date", "datetime",
     "emailinformation"),
    ("hs_email_last_click_date", "Last marketing email click date", "datetime",
     "emailinformation"),
    ("hs_analytics_num_page_views", "Number of Pageviews", "number", "analyticsinformation"),
    ("hs_analytics_num_visits", "Number of Sessions", "number", "analyticsinformation"),
    ("hs_analytics_first_url", "First Page Seen", "string", "analyticsinformation"),
    ("hs_analytics_first_timestamp", "Time First Seen", "datetime", "analyticsinformation"),
    ("hs_analytics_first_visit_timestamp", "Time of First Session", "datetime",
     "analyticsinformation"),
    ("hs_analytics_last_url", "Last Page Seen", "string", "analyticsinformation"),
    ("hs_analytics_last_timestamp", "Time Last Seen", "datetime", "analyticsinformation"),
    ("hs_analytics_last_visit_timestamp", "Time of Last Session", "datetime",
     "analyticsinformation"),
    ("num_conversion_events", "Number of Form Submissions", "number",
     "conversioninformation"),
    ("num_unique_conversion_events", "Number of Unique Forms Submitted", "number",
     "conversioninformation"),
    ("first_conversion_event_name", "First Conversion", "string", "conversioninformation"),
    ("first_conversion_date", "First Conversion Date", "datetime", "conversioninformation"),
    ("recent_conversion_event_name", "Recent Conversion", "string", "conversioninformation"),
    ("recent_conversion_date", "Recent Conversion Date", "datetime", "conversioninformation"),
    ("createdate", "Create Date", "datetime", "contactinformation"),
    ("lastmodifieddate", "Last Modified Date", "datetime", "contactinformation"),
    ("hs_object_id", "Record ID", "number", "contactinformation"),
)
DEFAULT_PROPERTIES = frozenset(name for name, *_ in _DEFAULTS)


def default_properties() -> list[dict[str, Any]]:
    """The default properties as GET /crm/v3/properties/contacts lists them (the shape of
    tests/corpus/hubspot/properties_contacts_engagement.json)."""
    return [hubspot_defined(name, label, kind, group,
                            calculated=group != "contactinformation",
                            unique=name in ("email", "hs_object_id"))
            for name, label, kind, group in _DEFAULTS]
