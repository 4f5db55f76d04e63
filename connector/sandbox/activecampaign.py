"""A loopback ActiveCampaign (API v3): the routes connector uses, with AC's quirks.

String numbers everywhere (``meta.total`` is a string), ``0000-00-00 00:00:00`` for no
date, dates in the account's time zone (America/Chicago here), contacts sorted by email
unless ``orders[id]`` is given, ``filters[updated_after]`` compared at date granularity,
403 ``{"message": "Forbidden"}`` on a bad token, 5 requests per second per account with
429 and ``Retry-After``, custom fields without a number type (422), bulk imports that are
queued and finish on a later poll, non-uniform error bodies. Shapes follow the shipped
OpenAPI spec (tests validate them); where the spec is wrong (list-shaped 201 on POST
/fields) we follow the recorded real answers and say so. Activities name their model in
``reference_type`` ("Log", "LinkData", ...) with ``jsonData`` a JSON string; tracking logs
page by 20 like AC's other lists (see the comments at ``_record`` and ``tracking``).

Account options for real accounts' shapes (issue 21): ``custom_fields`` / ``tags`` fill the
account with that many custom fields / tags *before* any other, so the fit fields, the
score field and the tags of a test sit past the first page of 100 (``GET /fields`` and
``GET /tags`` page with ``limit``/``offset`` and count in ``meta.total``); ``stream``
(one of ``STREAM_MODES``) makes ``GET /activities`` list no site visits ("no_visits": the
visits are only in the contacts' tracking logs), or refuse the account-wide stream (a read
without ``contact``) with 403 ("refused") or 404 ("missing"), or answer it 200 with an
empty list ("empty"); a read of one contact's activities is answered in full.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.clock import Clock, SystemClock
from connector.models import Contact, Event, EventType, Owner
from connector.sandbox import ac_account_fields as account_fields
from connector.sandbox import ac_accounts as accounts
from connector.sandbox.ac_http import TZ, Invalid, local
from connector.sandbox.ac_http import answer as _json
from connector.sandbox.ac_http import errors as _errors
from connector.sandbox.ac_http import limits as _limits
from connector.sandbox.ac_http import object_body as _body
from connector.sandbox.ac_http import page as _page
from connector.sandbox.faults import FaultPlan
from connector.sandbox.ledger import Entry, Ledger
from connector.sandbox.population import Population
from connector.sandbox.webhooks import ACWebhooks

ZERO_DATE = "0000-00-00 00:00:00"
MAX_OFFSET = 10_000
# ``GET /activities``: "full" lists every activity, site visits ("TrackingLog") included;
# "no_visits" leaves the visits out (they are only in the tracking logs); the others apply
# to the account-wide stream only (no ``contact`` filter): "refused" is a 403, "missing" a
# 404, "empty" a 200 with no rows
STREAM_MODES = ("full", "no_visits", "refused", "missing", "empty")
FIT_FIELDS = {"JOB_TITLE": "job_title", "COMPANY_SIZE": "company_size", "INDUSTRY": "industry",
              "COUNTRY": "country"}
# every account has its admin, user 1 (the spec's GET /users/{id} and /users/me examples)
ADMIN = Owner(id="1", name="Account Admin", email="admin@example-agency.com")


class _Bucket:
    """AC's "5 requests per second per account", read strictly: at most ``rate`` requests
    arrive in any one second of the server's clock (a sliding window, counted when a
    request arrives; a fractional rate is one request per ``1/rate`` s). A client that
    counts requests when it sends them at exactly the limit, with a few in flight on
    uneven connections, gets 429s here as it does from servers built from the vendor's
    words. ``window`` counts ``rate * window`` requests per that many seconds instead (the
    benchmark's window scaling: 5 per 0.05 s at 20x the limit)."""

    def __init__(self, rate: float, window: float = 1.0) -> None:
        self.rate = rate
        self.limit = max(1, int(rate * window + 1e-9))
        self.window = self.limit / rate
        self.arrived: deque[float] = deque()
        self.lock = threading.Lock()

    def remaining(self) -> int:
        """How many more requests the current window takes (the RateLimit-Remaining
        header)."""
        with self.lock:
            self._forget(time.monotonic())
            return max(0, self.limit - len(self.arrived))

    def _forget(self, now: float) -> None:
        while self.arrived and self.arrived[0] <= now - self.window:
            self.arrived.popleft()

    def allow(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self._forget(now)
            if len(self.arrived) < self.limit:
                self.arrived.append(now)
                return True
            return False


class ACAccount:
    """One ActiveCampaign account."""

    def __init__(self, name: str, population: Population | None = None, *,
                 clock: Clock | None = None, requests_per_second: float = 5.0,
                 import_polls: int = 1, custom_fields: int = 0, tags: int = 0,
                 stream: str = "full", rate_window: float = 1.0) -> None:
        if stream not in STREAM_MODES:
            raise ValueError(f"stream must be one of {STREAM_MODES}, not {stream!r}")
        self.name = name
        self.stream = stream
        self.lists = {"1": "Master Contact List"}  # list id -> name (unsubscribes go here)
        # the account reads only wall time: its records and answers are stamped by it
        self.clock = (clock or SystemClock()).now
        self.lock = threading.RLock()
        self.bucket = _Bucket(requests_per_second, rate_window)
        self.import_polls = import_polls
        self.contacts: dict[int, dict[str, Any]] = {}
        self._ids: list[int] | None = None  # contact ids in order, sorted once per addition
        self.by_email: dict[str, int] = {}  # lower-cased email -> id, as AC's unique index
        self.field_values: dict[tuple[int, str], str] = {}
        self.fields: dict[str, dict[str, Any]] = {}
        self.field_rels: list[dict[str, Any]] = []
        self.tags: dict[str, str] = {}
        self.contact_tags: list[tuple[int, str]] = []
        self.contact_lists: dict[tuple[int, str], int] = {}
        self.automations: list[tuple[int, str]] = []
        self.tasks: list[dict[str, Any]] = []
        self.users: dict[str, Owner] = {ADMIN.id: ADMIN}
        self.deals: list[dict[str, Any]] = []
        self.activities: list[dict[str, Any]] = []
        self._activities_sorted: list[dict[str, Any]] | None = None
        self.tracking: dict[int, list[dict[str, Any]]] = {}
        self._tracking_ids = 0
        self.imports: dict[str, dict[str, Any]] = {}
        self.webhooks: ACWebhooks | None = None
        self.accounts = accounts.AccountBook(self.clock)
        for n in range(1, custom_fields + 1):  # an agency's fields, before ours
            self._field(f"Agency field {n}", f"AGENCY_FIELD_{n}", "text")
        for n in range(1, tags + 1):
            self.tags[str(n)] = f"agency-tag-{n}"
        for perstag in FIT_FIELDS:
            self._field(perstag.replace("_", " ").title(), perstag, "text")
        if population is not None:
            self.load(population)

    # -- seeding ----------------------------------------------------------------------
    def load(self, population: Population) -> None:
        for owner in population.owners:
            self.users[owner.id] = owner
        for person in population:
            self.add_contact(person.contact, person.events)

    def add_contact(self, contact: Contact, events: Iterable[Event] = ()) -> None:
        cid = int(contact.id)
        f = contact.fields
        created = contact.created_at or self.clock()
        with self.lock:
            self._ids = None
            self.contacts[cid] = {
                "id": cid, "email": contact.email or "", "firstName": f.get("first_name") or "",
                "lastName": f.get("last_name") or "", "phone": "", "orgname": f.get("company")
                or "", "cdate": created, "udate": contact.updated_at or created,
            }
            if contact.email:
                self.by_email[contact.email.lower()] = cid
            self.accounts.join(cid, f.get("company"), f.get("job_title"), created)
            for perstag, name in FIT_FIELDS.items():
                if f.get(name) is not None:
                    self.field_values[(cid, self._field_id(perstag))] = str(f[name])
            self.tracking[cid] = []
            for event in events:
                self._record(event)
            if contact.owner_id or contact.is_customer:
                won = contact.is_customer
                # a deal always has an owner (``owner`` is required by POST /deals and a
                # string in GET /deals, ../shared/specs/activecampaign-v3.openapi.json):
                # a customer's deal with no salesperson is the account admin's (user 1)
                self.deals.append({
                    "id": str(len(self.deals) + 1), "contact": str(cid),
                    "owner": contact.owner_id or ADMIN.id, "status": "1" if won else "0",
                    "title": f"Deal {cid}", "value": "100000", "currency": "eur",
                    "cdate": local(created), "mdate": local(contact.customer_at or created)})

    def add_event(self, event: Event) -> None:
        with self.lock:
            self._record(event)
            # A site visit leaves ``udate`` alone: the spec's example of the contact of a
            # tracking event (GET /trackingLogs/{eventId}/contact, contact 112, whose
            # tracking logs in GET /contacts/{contactId}/trackingLogs are of 2022-09-27)
            # keeps ``udate`` at its creation (2022-09-22); only ``adate``/``edate`` moved
            # (../shared/specs/activecampaign-v3.openapi.json)
            if event.type != EventType.PAGE_VIEW:
                self.touch(int(event.contact_id))
            # the webhook events of AC's list (open, click, forward, subscribe...): a site
            # visit has none (https://developers.activecampaign.com/page/webhooks)
            kind = {EventType.EMAIL_OPEN: "open", EventType.EMAIL_CLICK: "click",
                    EventType.FORM_SUBMISSION: "subscribe", EventType.DOWNLOAD: "subscribe",
                    }.get(event.type)  # type: ignore[call-overload]
            if self.webhooks is not None and kind is not None:
                cid = int(event.contact_id)
                self.webhooks.event(kind, cid, self.contacts[cid]["email"], event.occurred_at,
                                    initiated_by="public")

    def send_webhooks(self, url: str) -> ACWebhooks:
        """Add a webhook: engagement and updates are posted, form-encoded, to ``url``."""
        self.webhooks = ACWebhooks(url)
        return self.webhooks

    def _record(self, event: Event) -> None:
        cid = int(event.contact_id)
        if event.type == EventType.PAGE_VIEW:
            # GET /contacts/{contactId}/trackingLogs item (the spec's 200 example): its
            # ``id`` is the account's tracking-log number as a string ("12", "15"), as
            # every v3 id is, not a UUID
            self._tracking_ids += 1
            tid = str(self._tracking_ids)
            self.tracking[cid].append({"subscriberid": str(cid), "type": "__pagevisit",
                                       "value": event.url or "",
                                       "tstamp": local(event.occurred_at), "hash": event.id,
                                       "links": {"contact": f"/api/3/trackingLogs/{tid}/contact"},
                                       "id": tid, "contact": str(cid)})
            # and a "TrackingLog" row in the account's activity stream (a documented
            # ``reference_type`` of GET /activities: https://developers.activecampaign.com/
            # reference/list-contact-activities "Response details"); its jsonData keys are
            # not documented, so it carries none (a JSON string, as the other rows)
            self._activities_sorted = None
            aid = str(len(self.activities) + 1)
            self.activities.append({
                "tstamp": local(event.occurred_at), "subscriberid": str(cid),
                "reference_type": "TrackingLog", "reference_id": tid,
                "reference_action": "", "jsonData": "{}", "userid": "0", "permission": "",
                "referenceModelName": "tracking-log", "notes": [], "recipients": [],
                "reference": {"type": "tracking-log", "id": tid}, "user": "0", "id": aid,
                "_ts": event.occurred_at, "_key": event.id})
            return
        # The activity row as GET /activities answers it (../shared/specs/activecampaign-v3
        # .openapi.json, GET /activities 200 example; https://developers.activecampaign.com/
        # reference/list-contact-activities "Response details"): ``reference_type`` names
        # the model (an open is a "Log", a click "LinkData"; forms have no documented name
        # and are "Form", as servers built from the spec send them), ``referenceModelName``
        # its kebab-case name, ``jsonData`` a JSON *string* (null in the spec's example);
        # its keys are not documented and follow the model's fields (campaignid, link).
        kind = {EventType.EMAIL_OPEN: ("Log", "log"),
                EventType.EMAIL_CLICK: ("LinkData", "link-data"),
                EventType.FORM_SUBMISSION: ("Form", "form"),
                EventType.DOWNLOAD: ("Form", "form")}.get(
            event.type)  # type: ignore[call-overload]
        if kind is None:
            return
        self._activities_sorted = None
        aid = str(len(self.activities) + 1)
        data = {"campaignid": event.email_id, "link": event.url} if kind[0] != "Form" else \
            {"form": event.name, "url": event.url}
        self.activities.append({
            "tstamp": local(event.occurred_at), "subscriberid": str(cid),
            "reference_type": kind[0], "reference_id": aid, "reference_action": "",
            "jsonData": json.dumps({k: v for k, v in data.items() if v is not None}),
            "userid": "0", "permission": "", "referenceModelName": kind[1], "notes": [],
            "recipients": [], "reference": {"type": kind[1], "id": aid}, "user": "0",
            "id": aid, "_ts": event.occurred_at, "_key": event.id})

    def tag(self, cid: int, name: str) -> str:
        """Put the tag ``name`` on contact ``cid`` (the tag is created if new); its id."""
        with self.lock:
            tid = next((t for t, n in self.tags.items() if n == name), None)
            if tid is None:
                tid = str(len(self.tags) + 1)
                self.tags[tid] = name
            self.contact_tags.append((cid, tid))
            return tid

    def touch(self, cid: int) -> None:
        self.contacts[cid]["udate"] = self.clock()

    def _field(self, title: str, perstag: str, kind: str) -> dict[str, Any]:
        fid = str(len(self.fields) + 1)
        now = local(self.clock())
        self.fields[fid] = {"id": fid, "title": title, "type": kind, "perstag": perstag,
                            "descript": "", "isrequired": "0", "defval": None, "visible": "1",
                            "ordernum": fid, "cdate": now, "udate": now, "options": [],
                            "relations": [], "links": {}}
        return self.fields[fid]

    def _field_id(self, perstag: str) -> str:
        return next(f["id"] for f in self.fields.values() if f["perstag"] == perstag)

    def sorted_ids(self) -> list[int]:
        with self.lock:
            if self._ids is None:
                self._ids = sorted(self.contacts)
            return self._ids

    def sorted_activities(self) -> list[dict[str, Any]]:
        """All activities by (time, id), sorted once per change, not once per page."""
        if self._activities_sorted is None:
            self._activities_sorted = sorted(self.activities,
                                             key=lambda r: (r["_ts"], int(r["id"])))
        return self._activities_sorted

    def value_of(self, contact_id: str, perstag: str) -> str | None:
        fid = next((f["id"] for f in self.fields.values() if f["perstag"] == perstag), None)
        return self.field_values.get((int(contact_id), fid)) if fid else None

    def view(self, cid: int) -> dict[str, Any]:
        c = self.contacts[cid]
        return {"id": str(cid), "email": c["email"], "firstName": c["firstName"],
                "lastName": c["lastName"], "phone": c["phone"], "orgid": "0",
                "cdate": local(c["cdate"]), "udate": local(c["udate"]),
                "deleted": "0", "anonymized": "0", "bounced_date": "0000-00-00",
                "deleted_at": ZERO_DATE, "socialdata_lastcheck": ZERO_DATE,
                "scoreValues": [], "links": {}, "orgname": c["orgname"]}


class ACSandbox(accounts.AccountRoutes, account_fields.AccountFieldRoutes):
    """The WSGI app; ``accounts`` maps API tokens to accounts."""

    def __init__(self, faults: FaultPlan | None = None) -> None:
        self.accounts: dict[str, ACAccount] = {}
        self.faults = faults or FaultPlan()
        self.ledger = Ledger()
        self.url_map = Map([Rule(f"/api/3{path}", endpoint=name, methods=methods) for path, name,
                            methods in [
            ("/", "root", ["GET"]),
            ("/contacts", "contacts", ["GET"]),
            ("/contacts/<int:cid>/trackingLogs", "tracking", ["GET"]),
            ("/activities", "activities", ["GET"]),
            ("/fields", "fields", ["GET"]),
            ("/fields", "create_field", ["POST"]),
            ("/fieldRels", "field_rel", ["POST"]),
            ("/fieldValues", "create_field_value", ["POST"]),
            ("/contacts/<int:cid>/fieldValues", "contact_field_values", ["GET"]),
            ("/contact/sync", "contact_sync", ["POST"]),
            ("/import/bulk_import", "bulk_import", ["POST"]),
            ("/import/info", "import_info", ["GET"]),
            ("/deals", "deals", ["GET"]),
            ("/users", "users", ["GET"]),
            ("/users/me", "me", ["GET"]),
            ("/users/<uid>", "user", ["GET"]),
            ("/lists/<list_id>", "mailing_list", ["GET"]),
            ("/tags", "create_tag", ["POST"]),
            ("/tags", "list_tags", ["GET"]),
            ("/contactTags", "contact_tag", ["POST"]),
            ("/contactAutomations", "contact_automation", ["POST"]),
            ("/contactLists", "contact_list", ["POST"]),
            ("/dealTasks", "task", ["POST"]),
            *accounts.RULES,
            *account_fields.RULES,
        ]], strict_slashes=False)

    def add_account(self, token: str, account: ACAccount) -> ACAccount:
        self.accounts[token] = account
        return account

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        token = request.headers.get("Api-Token")
        account = self.accounts.get(token or "")
        response = self._dispatch(request, account)
        if account is not None:
            # "additional headers for the rate limit (ex. RateLimit-Limit: 5) and remaining
            # requests (ex. RateLimit-Remaining: 3)" (developers.activecampaign.com/reference/
            # rate-limits); on which answers AC sends them is not said: here on every one
            response.headers["RateLimit-Limit"] = str(account.bucket.limit)
            response.headers["RateLimit-Remaining"] = str(account.bucket.remaining())
        self.ledger.record(Entry(request.method, request.path, token,
                                 account.name if account else None, response.status_code))
        return response(environ, start_response)

    def _dispatch(self, request: Request, account: ACAccount | None) -> Response:
        try:
            endpoint, args = self.url_map.bind_to_environ(request.environ).match()
        except Exception:
            return _json({"message": "No Result found"}, 404)
        if account is None:
            return _json({"message": "Forbidden"}, 403)
        fault = self.faults.decide(request.path) if self.faults.active else None
        if fault == "rate_limit" or not account.bucket.allow():
            response = _json({"message": "Too Many Requests"}, 429)
            response.headers["Retry-After"] = str(self.faults.retry_after or 1)
            return response
        if fault == "server_error":
            return _json({"message": "Service Unavailable"}, 503)
        if fault == "latency":
            self.faults.pause()
        if fault in ("reset", "malformed"):
            return Response('{"contacts": [{"id": "1", "em', status=200,
                            mimetype="application/json")
        try:
            with account.lock:
                return getattr(self, endpoint)(request, account, **args)
        except (Invalid, ValueError, TypeError, KeyError, AttributeError) as exc:
            # input the route cannot read (a limit that is no number, a body of the wrong
            # shape): AC's JSON 400 in its errors shape (the spec's 400 example of GET
            # /customObjects/records/{schemaId}: {"errors": [{"status": 400, "title":
            # "Bad Request"}]}), never an HTML 500
            return _json({"errors": [{"status": 400, "title": "Bad Request",
                                      "detail": str(exc)}]}, 400)

    def root(self, request: Request, account: ACAccount) -> Response:
        """GET /api/3/: the documented API URL itself ("the URL will be in the form
        https://<account>.api-us1.com/api/3/", developers.activecampaign.com/reference/url)
        answers 200 to a valid token (tap-activecampaign's token check reads it; its body
        is not documented: an empty object here)."""
        return _json({})

    # -- contacts -------------------------------------------------------------------
    def contacts(self, request: Request, account: ACAccount) -> Response:
        a = request.args
        limit, offset = _limits(a, 20)
        if offset > MAX_OFFSET:
            return _json({"message": "offset too deep; page with id_greater"}, 400)
        by_id = a.get("orders[id]", "").upper() == "ASC"
        total: int | None = None
        if by_id:  # the connector's paging: ids in order, from id_greater (no full sort)
            ids = account.sorted_ids()
            start = bisect.bisect_right(ids, int(a["id_greater"])) if a.get("id_greater") else 0
            if _filtered(a):
                rows = [account.contacts[i] for i in ids[start:]]
            else:  # only the page's rows: a page costs the same on any account size
                rows = [account.contacts[i] for i in ids[start:start + offset + limit]]
                total = len(ids) - start
        else:
            rows = list(account.contacts.values())
            if a.get("id_greater"):
                rows = [c for c in rows if c["id"] > int(a["id_greater"])]
        # the filters of GET /contacts (../shared/specs/activecampaign-v3.openapi.json,
        # its parameters): ``ids`` ("Can be repeated for multiple IDs. Example:
        # ids[]=1&ids[]=2&ids[]=42"; a comma-separated list is read too), ``email`` (the
        # contact with that address), ``email_like`` (addresses containing the value),
        # ``search`` ("match the given value in the contact names, organization, phone
        # or email")
        wanted_ids = _ids(a)
        if wanted_ids is not None:
            rows = [c for c in rows if c["id"] in wanted_ids]
        if a.get("email"):
            rows = [c for c in rows if c["email"].lower() == a["email"].lower()]
        if a.get("email_like"):
            rows = [c for c in rows if a["email_like"].lower() in c["email"].lower()]
        if a.get("search") not in (None, "", "null"):
            needle = a["search"].lower()
            rows = [c for c in rows if any(needle in str(c[k]).lower() for k in (
                "firstName", "lastName", "orgname", "phone", "email"))]
        after = a.get("filters[updated_after]")
        if after:  # date granularity: from midnight of that day in the account's time zone
            since = datetime.fromisoformat(after[:10]).replace(tzinfo=TZ)
            if len(after) > 10 and after[10] not in "T ":
                raise Invalid("filters[updated_after] must be a date")
            rows = [c for c in rows if c["udate"] >= since]
        if not by_id:
            if a.get("orders[id]"):
                rows.sort(key=lambda c: c["id"], reverse=True)
            else:
                rows.sort(key=lambda c: c["email"])
        page = rows[offset:offset + limit]
        body: dict[str, Any] = {"scoreValues": [],
                                "contacts": [account.view(c["id"]) for c in page],
                                "meta": {"total": str(len(rows) if total is None else total),
                                         "page_input": {
                                    "limit": limit, "offset": offset}}}
        include = a.get("include", "")
        if "fieldValues" in include:
            stamp = local(account.clock())
            body["fieldValues"] = [
                {"id": f"{cid}-{fid}", "contact": str(cid), "field": fid, "value": value,
                 "cdate": stamp, "udate": stamp, "owner": str(cid)}
                for cid in (c["id"] for c in page) for fid in account.fields
                if (value := account.field_values.get((cid, fid))) is not None]
        if "contactTags" in include:
            on_page = {c["id"] for c in page}
            body["contactTags"] = [{"id": f"{cid}-{tid}", "contact": str(cid), "tag": tid}
                                   for cid, tid in account.contact_tags if cid in on_page]
        return _json(body)

    def tracking(self, request: Request, account: ACAccount, cid: int) -> Response:
        if cid not in account.contacts:
            return _json({"message": f"No Result found for Subscriber with id {cid}"}, 404)
        # the spec documents no paging here; AC's v3 lists page with limit (default 20,
        # at most 100) and offset and count in meta.total (a string), and so does this
        a = request.args
        limit, offset = _limits(a, 20)
        rows = account.tracking.get(cid, [])
        return _json({"trackingLogs": rows[offset:offset + limit],
                      "meta": {"total": str(len(rows))}})

    def activities(self, request: Request, account: ACAccount) -> Response:
        a = request.args
        limit, offset = _limits(a, 100)
        if not a.get("contact") and account.stream == "refused":
            return _json({"message": "Forbidden"}, 403)
        if not a.get("contact") and account.stream == "missing":
            return _json({"message": "No Result found"}, 404)
        rows = account.sorted_activities()
        if not a.get("contact") and account.stream == "empty":
            rows = []
        if account.stream == "no_visits":
            rows = [r for r in rows if r["reference_type"] != "TrackingLog"]
        if a.get("contact"):
            rows = [r for r in rows if r["subscriberid"] == a["contact"]]
        start = 0
        if a.get("after"):
            after = datetime.fromisoformat(a["after"].replace("Z", "+00:00"))
            if after.tzinfo is None:
                after = after.replace(tzinfo=TZ)
            start = bisect.bisect_left(rows, after, key=lambda r: r["_ts"])
        if a.get("orders[tstamp]", "").upper() == "DESC":  # the spec's "orders[tstamp]"
            rows, start = rows[start:][::-1], 0
        # a page slices the sorted stream in place: it costs the same on any account size
        page = [{k: v for k, v in r.items() if not k.startswith("_")}
                for r in rows[start + offset:start + offset + limit]]
        # the spec's example answers the page's contacts and recipients beside it
        ids = sorted({int(r["subscriberid"]) for r in page})
        return _json({"contacts": [account.view(i) for i in ids if i in account.contacts],
                      "activityRecipients": [], "activities": page,
                      "meta": {"total": str(len(rows) - start)}})

    # -- fields and writes ------------------------------------------------------------
    # GET /fields and GET /tags page as AC's lists do: "limit" (at most 100) and "offset",
    # the count in ``meta.total`` (https://developers.activecampaign.com/reference/
    # pagination); /fields answers 100 when no limit is asked for (the spec's default,
    # ../shared/specs/activecampaign-v3.openapi.json GET /fields ``limit``), /tags 20
    def fields(self, request: Request, account: ACAccount) -> Response:
        perstag = request.args.get("filters[perstag]")
        rows = [f for f in account.fields.values() if not perstag or f["perstag"] == perstag]
        page, meta = _page(request, rows, default=100)
        return _json({"fields": page, "meta": meta})

    def create_field(self, request: Request, account: ACAccount) -> Response:
        body = _body(request, "field")
        if not body.get("title"):
            return _errors(422, "The field title was not provided.", "", "field_missing")
        if body.get("type") not in ("text", "hidden", "textarea", "date", "datetime",
                                    "dropdown", "checkbox", "radio", "listbox"):
            return _errors(422, "Field type is not valid", f"{body.get('type')!r} is not a "
                           "valid field type", "field_invalid")
        perstag = body.get("perstag") or body["title"].upper().replace(" ", "_")
        if any(f["perstag"] == perstag for f in account.fields.values()):
            return _errors(422, "There is already a field with this personalization tag",
                           f"There is already a personalization tag named '{perstag}'",
                           "field_invalid")
        field = account._field(body["title"], perstag, body["type"])
        # the spec shows a list-shaped 201; recorded answers carry {"field": {...}}
        return _json({"field": field}, 201)

    def field_rel(self, request: Request, account: ACAccount) -> Response:
        rel = _body(request, "fieldRel")
        if str(rel.get("field")) not in account.fields:
            return _json({"message": "No Result found for Field"}, 404)
        # the spec's 201 (POST /fieldRels): relid and field are integers, with cdate,
        # links (a list) and the id as a string
        item = {"relid": int(rel.get("relid") or 0), "field": int(rel["field"]),
                "cdate": local(account.clock()), "links": [],
                "id": str(len(account.field_rels) + 1)}
        account.field_rels.append(item)
        return _json({"fieldRel": item}, 201)

    # POST /fieldValues ("Create a Custom Field Value": contact, field, value; the spec's
    # 200 answer carries the contact and the fieldValue) sets the contact's value of the
    # field, replacing an earlier one; GET /contacts/{id}/fieldValues lists them.
    def create_field_value(self, request: Request, account: ACAccount) -> Response:
        item = _body(request, "fieldValue")
        missing = [k for k in ("contact", "field", "value") if item.get(k) is None]
        if missing:
            return _errors(422, "Missing required fields", ", ".join(missing), "field_missing")
        cid = self._contact_or_404(account, item["contact"])
        if isinstance(cid, Response):
            return cid
        fid = str(item["field"])
        if fid not in account.fields:
            return _errors(422, "Field not found", f"field {fid}", "invalid")
        self._set_value(account, cid, fid, item["value"])
        now = local(account.clock())
        return _json({"contacts": [account.view(cid)], "fieldValue": {
            "contact": cid, "field": int(fid), "value": str(item["value"]), "cdate": now,
            "udate": now, "owner": cid, "id": f"{cid}-{fid}"}})

    def contact_field_values(self, request: Request, account: ACAccount,
                             cid: int) -> Response:
        if cid not in account.contacts:
            return _json({"message": "No Result found for Subscriber with id " + str(cid)},
                         404)
        rows = [{"contact": str(cid), "field": fid, "value": value, "id": f"{cid}-{fid}",
                 "owner": str(cid)}
                for (c, fid), value in account.field_values.items() if c == cid]
        return _json({"fieldValues": rows})

    def _set_value(self, account: ACAccount, cid: int, fid: str, value: Any) -> None:
        account.field_values[(cid, fid)] = str(value)
        account.touch(cid)
        if account.webhooks is not None:  # our write: an "update" initiated by the API
            account.webhooks.event("update", cid, account.contacts[cid]["email"],
                                   account.clock(), initiated_by="api")

    def contact_sync(self, request: Request, account: ACAccount) -> Response:
        body = _body(request, "contact")
        email = (body.get("email") or "").lower()
        if "@" not in email:
            return _errors(422, "Email address is invalid", "", "email_invalid")
        cid = account.by_email.get(email)
        status = 200
        if cid is None:
            cid = max(account.contacts, default=0) + 1
            account.contacts[cid] = {"id": cid, "email": email, "firstName": "",
                                     "lastName": "", "phone": "", "orgname": "",
                                     "cdate": account.clock(), "udate": account.clock()}
            account.by_email[email] = cid
            account.tracking[cid] = []
            status = 201
        for item in body.get("fieldValues") or []:
            if str(item.get("field")) not in account.fields:
                return _errors(422, "Field not found", f"field {item.get('field')}", "invalid")
            self._set_value(account, cid, str(item["field"]), item.get("value", ""))
        account.touch(cid)
        values = [{"contact": str(cid), "field": fid, "value": v, "id": f"{cid}-{fid}",
                   "owner": str(cid)} for (c, fid), v in account.field_values.items()
                  if c == cid]
        return _json({"fieldValues": values, "contact": account.view(cid)}, status)

    def bulk_import(self, request: Request, account: ACAccount) -> Response:
        body = request.get_json(silent=True)
        rows = body.get("contacts") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            rows = []  # answered as the spec's "Contact Create Fail" 400 below
        if not rows or len(rows) > 250:
            return _json({"success": 0, "message": "JSON payload did not pass validation.",
                          "failureReasons": ["send between 1 and 250 contacts"]}, 400)
        batch = str(uuid.uuid4())
        account.imports[batch] = {"rows": rows, "polls": 0, "done": False,
                                  "success": [], "failure": []}
        return _json({"Success": 1, "queued_contacts": len(rows), "batchId": batch,
                      "message": "Contact import queued"})

    def import_info(self, request: Request, account: ACAccount) -> Response:
        batch = account.imports.get(request.args.get("batchId", ""))
        if batch is None:
            return _json({"success": 0, "message": "'batchId' is a required field."}, 400)
        batch["polls"] += 1
        if batch["polls"] <= account.import_polls:
            return _json({"status": "pending", "success": [], "failure": []})
        if not batch["done"]:
            for row in batch["rows"]:
                cid = account.by_email.get(str(row.get("email", "")).lower())
                if cid is None or self.faults.fail_record():
                    batch["failure"].append(str(row.get("email")))
                    continue
                for item in row.get("fields") or []:
                    self._set_value(account, cid, str(item["id"]), item.get("value", ""))
                batch["success"].append(str(cid))
            batch["done"] = True
        return _json({"status": "completed", "success": batch["success"],
                      "failure": batch["failure"]})

    # -- people and actions ---------------------------------------------------------------
    def deals(self, request: Request, account: ACAccount) -> Response:
        a = request.args
        rows = account.deals
        if a.get("filters[status]"):
            rows = [d for d in rows if d["status"] == a["filters[status]"]]
        if a.get("filters[contact]"):
            rows = [d for d in rows if d["contact"] == a["filters[contact]"]]
        limit, offset = _limits(a, 100)
        return _json({"deals": rows[offset:offset + limit], "meta": {"total": len(rows)}})

    # GET /users, /users/me and /lists/{id}, shaped as the spec's examples
    # (../shared/specs/activecampaign-v3.openapi.json "List All Users", "Retrieve Logged-in
    # User", "Retrieve a List": 404 {"message": "No Result found for _List with id 7"})
    def users(self, request: Request, account: ACAccount) -> Response:
        rows = [self._user(uid, owner) for uid, owner in account.users.items() if owner]
        return _json({"users": rows, "meta": {"total": str(len(rows))}})

    def me(self, request: Request, account: ACAccount) -> Response:
        return _json({"user": {"id": "1", "username": "admin", "firstName": "Account",
                               "lastName": "Admin", "email": f"admin@{account.name}.example",
                               "phone": "", "signature": None, "links": {}}})

    def mailing_list(self, request: Request, account: ACAccount, list_id: str) -> Response:
        name = account.lists.get(list_id)
        if name is None:
            return _json({"message": f"No Result found for _List with id {list_id}"}, 404)
        return _json({"list": {"id": list_id, "stringid": name.lower().replace(" ", "-"),
                               "name": name, "userid": "1", "private": "0", "links": {}}})

    @staticmethod
    def _user(uid: str, owner: Any) -> dict[str, Any]:
        first, _, last = owner.name.partition(" ")
        return {"id": uid, "username": first.lower(), "firstName": first, "lastName": last,
                "email": owner.email, "phone": "", "signature": None, "links": {}}

    def user(self, request: Request, account: ACAccount, uid: str) -> Response:
        owner = account.users.get(uid)
        if owner is None:
            return _json({"message": f"No Result found for User with id {uid}"}, 404)
        first, _, last = owner.name.partition(" ")
        return _json({"user": {"id": uid, "username": first.lower(), "firstName": first,
                               "lastName": last, "email": owner.email, "phone": "",
                               "signature": None, "links": {}}})

    def list_tags(self, request: Request, account: ACAccount) -> Response:
        search = request.args.get("search")
        rows = [{"id": tid, "tag": name, "tagType": "contact"}
                for tid, name in account.tags.items() if not search or name == search]
        page, meta = _page(request, rows, default=20)
        return _json({"tags": page, "meta": meta})

    def create_tag(self, request: Request, account: ACAccount) -> Response:
        body = _body(request, "tag")
        if not isinstance(body.get("tag"), str) or not body["tag"]:
            # POST /tags: ``tag.tag`` is the name, a required string (the spec's request)
            raise Invalid("tag.tag (the tag's name) must be a string")
        tid = str(len(account.tags) + 1)
        account.tags[tid] = body.get("tag", "")
        return _json({"tag": {"id": tid, "tag": account.tags[tid], "tagType": "contact"}}, 201)

    def _contact_or_404(self, account: ACAccount, raw: Any) -> int | Response:
        try:
            cid = int(raw)
        except (TypeError, ValueError):
            return _errors(422, "Contact is invalid", f"{raw!r}", "invalid")
        if cid not in account.contacts:
            return _json({"message": f"No Result found for Subscriber with id {cid}"}, 404)
        return cid

    def contact_tag(self, request: Request, account: ACAccount) -> Response:
        body = _body(request, "contactTag")
        cid = self._contact_or_404(account, body.get("contact"))
        if isinstance(cid, Response):
            return cid
        account.contact_tags.append((cid, str(body.get("tag"))))
        account.touch(cid)
        return _json({"contactTag": {"contact": str(cid), "tag": str(body.get("tag")),
                                     "id": str(len(account.contact_tags))}}, 201)

    def contact_automation(self, request: Request, account: ACAccount) -> Response:
        body = _body(request, "contactAutomation")
        cid = self._contact_or_404(account, body.get("contact"))
        if isinstance(cid, Response):
            return cid
        account.automations.append((cid, str(body.get("automation"))))
        return _json({"contactAutomation": {"contact": str(cid), "automation": str(
            body.get("automation")), "id": str(len(account.automations))}}, 201)

    def contact_list(self, request: Request, account: ACAccount) -> Response:
        body = _body(request, "contactList")
        cid = self._contact_or_404(account, body.get("contact"))
        if isinstance(cid, Response):
            return cid
        status = int(body.get("status", 1))
        list_id = str(body.get("list"))
        account.contact_lists[(cid, list_id)] = status
        account.touch(cid)
        # the spec's answer to POST /contactLists is a 200 with the contact and the
        # contactList (its status an integer, the rest strings, links to the list)
        now = local(account.clock())
        link = f"/api/3/contactLists/{list_id}"
        first, last = account.contacts[cid]["firstName"], account.contacts[cid]["lastName"]
        return _json({"contacts": [account.view(cid)], "contactList": {
            "contact": str(cid), "list": list_id, "form": None, "seriesid": "0",
            "sdate": now, "status": status, "responder": "1", "sync": "0",
            "unsubreason": "", "campaign": None, "message": None, "first_name": first,
            "last_name": last, "ip4Sub": "0", "sourceid": str(body.get("sourceid") or 0),
            "autosyncLog": None, "ip4_last": "0", "ip4Unsub": "0",
            "unsubscribeAutomation": None,
            "links": {k: f"{link}/{k}" for k in (
                "automation", "list", "contact", "form", "autosyncLog", "campaign",
                "unsubscribeAutomation", "message")},
            "id": str(len(account.contact_lists)), "automation": None}})

    def task(self, request: Request, account: ACAccount) -> Response:
        body = _body(request, "dealTask")
        if body.get("relid") is None:
            return _json({}, 400)
        item = {"id": str(len(account.tasks) + 1), "relid": str(body["relid"]),
                "reltype": "Subscriber", "title": body.get("title"), "note": body.get("note"),
                "status": 0, "assignee": body.get("assignee"),
                "duedate": body.get("duedate"), "owner": {"type": "contact",
                                                          "id": str(body["relid"])}}
        account.tasks.append(item)
        return _json({"dealTask": item}, 201)


def _ids(args: Any) -> set[int] | None:
    """The ids asked for: ``ids[]=1&ids[]=2``, ``ids=1&ids=2`` or ``ids=1,2``; None when
    no id filter is given."""
    raw = [*args.getlist("ids[]"), *args.getlist("ids")]
    if not raw:
        return None
    return {int(x) for item in raw for x in str(item).split(",") if x.strip().isdigit()}


def _filtered(args: Any) -> bool:
    return _ids(args) is not None or any(args.get(k) for k in (
        "email", "email_like", "search", "filters[updated_after]"))
