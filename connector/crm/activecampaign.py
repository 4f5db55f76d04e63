"""ActiveCampaign (API v3) with ``requests``, every call through the shared HTTP layer.

Pull: contacts ordered by id and paged with ``id_greater`` (never deep offsets);
incrementally with ``filters[updated_after]``, which has date granularity in the account's
time zone: the filter asks from a day before the bookmark and the exact ``udate`` (which
carries its offset) drops what is older, so nothing updated in the same second or day is
missed and nothing is yielded twice. Fit data from standard fields, custom field values
(by personalisation tag) and tags; ground truth and owners from deals. Engagement:
opens, clicks and forms from ``/activities`` (one account-wide stream for big batches),
page visits from each contact's tracking logs. ActiveCampaign exposes no engagement
counters on the contact (``activity_signature`` is None), and a site visit does not move
``udate``: an incremental pull first reads the account's activity stream and names, in
``engaged``, each contact with an activity or a ``TrackingLog`` (a visit) and its event ids;
the sync fetches the engagement of contacts with ids it has not stored, or whose record
changed other than by our own write (``connector/own_writes.py``), which it trusts only
where the stream is proven to name visits (``stream_names_visits``). A stream refused
(4xx) or answered empty (unproven) is read per contact instead, and the sync report says
so. Deals and the stream are paged with a few requests in flight (``_paged``), and every
other list page after page (``paging.offset_pages``), all under the one limiter.

The score lives in a *text* custom field (ActiveCampaign has no number type), written as
a plain integer ("30", "-5"): sales filter with a segment condition "Lead score (connector)
is greater than 29", or sort the contact list by the column (see docs/activecampaign.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connector import stopping
from connector.crm import paging
from connector.crm.base import (
    ALL_CAPABILITIES,
    MARKER_DESCRIPTION,
    MARKER_LABEL,
    MARKER_NAME,
    PullNotes,
    ScoreProperty,
    WriteReport,
)
from connector.crm.detected import Detected
from connector.crm.fanout import DEFAULT_WORKERS, fan_out
from connector.crm.mapping import form_event_type
from connector.crm.registry import register
from connector.errors import AuthError, CRMError, FixConfiguration, NotFoundError, SkipRecord
from connector.http import HttpLayer, Limit, RateLimiter
from connector.http.requests_client import JsonClient
from connector.models import Contact, Event, EventType, Owner

if TYPE_CHECKING:
    from connector.config import ClientConfig

DEFAULT_FIELDS = {"job_title": "JOB_TITLE", "company_size": "COMPANY_SIZE",
                  "industry": "INDUSTRY", "country": "COUNTRY"}
PAGE = 100
BULK = 250
# "The suggested minimum number of contacts is 10. If less than that, then contact/sync api
# request should be used." (bulk import, ../shared/specs/activecampaign-v3.openapi.json,
# POST /import/bulk_import, requestBody contacts.description)
BULK_WRITE_MIN = 10
# AC's v3 lists answer 20 rows when no limit is asked for; a server that ignores ``limit``
# on the tracking logs still pages by 20
DEFAULT_PAGE = 20
# "Our API has a rate limit of 5 requests per second per account" (https://developers.
# activecampaign.com/reference/rate-limits, "Rate Limits"; how AC counts is unverified: the
# sandbox reads it strictly, 5 arrivals in any second). A request holds its place from its
# send until 1/0.97 s after the latest moment AC can have counted it (its answer less half
# the fastest round trip: connector/http/ratelimit.py RollingWindow ``in_flight``); the
# 3 % (31 ms) covers a way back up to 31 ms shorter than half the fastest round trip
RATE_MARGIN = 0.97
STREAM_WINDOW = 64  # pages of a long list read in flight before they are handed on
ZERO_DATES = ("", "0000-00-00", "0000-00-00 00:00:00")
MARKER_TAG = MARKER_NAME.upper()  # the warm-up marker field's personalisation tag

# ``GET /activities``: what each ``reference_type`` is. It names the *model* of the activity
# (the vendor's reference, https://developers.activecampaign.com/reference/list-contact-
# activities, "Response details": SubscriberEmail, DealTask, SubscriberList,
# SubscriberSeries, Log, Update, DealActivity, Forward, Reply, Note, LinkData, MppLinkData,
# SmsLog, SmsReply, SmsUnsub, TrackingLog, SeriesBlock, SubscriberLog, SubscriberConversion,
# FbAudienceContactLog, EcomOrderActivity, "but are not limited to"); the spec's example
# (../shared/specs/activecampaign-v3.openapi.json, GET /activities 200) carries
# ``referenceModelName`` beside it in kebab case ("contact-email"), and a public integration
# that reads real accounts keys on it ("log", "link-data", "mpp-link-data"). ``jsonData`` is
# null in the spec's example and a JSON *string* on servers built from the spec, or an
# object: both are read. Its keys are not documented: campaign (campaignid), message
# (messageid), url (link) and form (name) are read where present. Names are compared
# without case, "-" or "_"; the verbs "open" / "link" / "form" of older sandboxes still
# parse. Caveats found: that integration saw "Log" rows that were sends, and opens as
# link data on the campaign's "Read Tracker" link (``GET /campaigns/{id}/links``:
# ``"link": "open"``), so link data whose link is "open" is an open, and "Log" is an open
# as the activity servers built from the spec send it. MppLinkData is Apple Mail Privacy
# Protection fetching the pixel, a machine and not a reader: not scored.
OPEN_TYPES = frozenset({"log", "open"})
CLICK_TYPES = frozenset({"linkdata", "link"})
FORM_TYPES = frozenset({"form", "formsubmission", "subscriberform"})
NOT_ENGAGEMENT = frozenset({
    "subscriberemail", "contactemail", "dealtask", "subscriberlist", "subscriberseries",
    "update", "dealactivity", "forward", "reply", "note", "mpplinkdata", "smslog",
    "smsreply", "smsunsub", "trackinglog", "seriesblock", "subscriberlog",
    "subscriberconversion", "fbaudiencecontactlog", "ecomorderactivity"})
UNKNOWN_NOTE = "activities of unknown type"
# what the sync report says when the account-wide stream cannot be used (issue 21); each
# names what is read instead, what is not seen, and the fix
STREAM_NOTE = "ActiveCampaign's account-wide activity stream"
_PER_CONTACT = ("opens, clicks and forms are read per contact instead (GET /activities?"
                "contact=, one request per changed contact) and site visits from the "
                "tracking logs of changed contacts; a visit by a contact whose record did "
                "not change is not seen until it changes. Fix: ask ActiveCampaign to "
                "enable GET /activities without a contact for this API key, then run "
                "`connector resync --full`")
REFUSED_NOTE = STREAM_NOTE + " (GET /activities) was refused with {how}: " + _PER_CONTACT
EMPTY_NOTE = (STREAM_NOTE + " (GET /activities) answered empty while a contact's own "
              "activities list rows, so it is not read: " + _PER_CONTACT)
UNREAD_NOTE = (STREAM_NOTE + " and each contact's activities (GET /activities?contact=) "
               "were refused with {how}: email opens, clicks and form submissions are not "
               "read, only site visits (tracking logs). Fix: give this API key's user "
               "access to contact activities in ActiveCampaign, then run "
               "`connector resync --full`")


def _marker_value(at: datetime) -> str:
    """The marker field's text: ISO 8601 in UTC to the second."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    """AC dates: ISO with offset, or ``0000-00-00 00:00:00`` meaning none."""
    if value is None or str(value).strip() in ZERO_DATES:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def perstag_for(name: str) -> str:
    return name.upper()


@register("activecampaign")
class ActiveCampaignCRM:
    """The ActiveCampaign adapter (see the module docstring)."""

    kind = "activecampaign"
    capabilities = ALL_CAPABILITIES  # tasks, tags, automations, list unsubscribes
    incremental_ordered = False

    def __init__(self, client_name: str, token: str, base_url: str, *,
                 field_map: Mapping[str, str] | None = None,
                 score_field: str = "connector_lead_score", requests_per_second: float = 5.0,
                 clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
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
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep
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
        # our own write left unread (``stream_complete``, ``connector/own_writes.py``);
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
        limiter = RateLimiter({"default": limit}, monotonic, sleep)
        self.layer = HttpLayer("activecampaign", client_name, limiter, clock=monotonic,
                               sleep=sleep, max_attempts=max_attempts, secrets=[token],
                               now=self.clock)
        self.http = JsonClient(base, self.layer, headers={"Api-Token": token},
                               classify=lambda method, path: "default")
        self._field_ids: dict[str, str] | None = None
        self._tags: dict[str, str] | None = None
        self._deals: dict[str, dict[str, Any]] | None = None
        self._users: dict[str, Owner | None] = {}
        self._emails: dict[str, str] = {}
        self._activity_cache: dict[datetime | None, _Stream] = {}
        # per contact, the ids of the engagement the account's stream shows since a day
        # before the bookmark (a site visit does not move ``udate``: docs/activecampaign.md);
        # the sync fetches the contacts with an id it has not stored. None: not known
        self.engaged: dict[str, set[str]] | None = None

    @classmethod
    def from_config(cls, client: ClientConfig, token: str, *,
                    clock: Callable[[], datetime],
                    sleep: Callable[[float], None] = time.sleep) -> ActiveCampaignCRM:
        """The adapter for a client file's ``crm`` block."""
        crm = client.crm
        kwargs: dict[str, Any] = {}
        if crm.rate_limit is not None and crm.rate_limit.requests_per_second:
            kwargs["requests_per_second"] = crm.rate_limit.requests_per_second
        return cls(client.name, token, base_url=crm.base_url or "",  # config requires it
                   field_map=crm.field_map,
                   score_field=client.score_property.name, clock=clock, sleep=sleep,
                   engagement_workers=crm.concurrency, **kwargs)

    @property
    def http_stats(self) -> Any:
        return self.layer.stats

    def retried(self) -> dict[str, int]:
        return dict(self.layer.stats.retried)

    def __repr__(self) -> str:
        return f"ActiveCampaignCRM(client={self.client_name!r}, base_url={self.base_url!r})"

    # -- contacts ---------------------------------------------------------------------
    @property
    def stream_complete(self) -> bool:
        """Whether this run's activity stream names every engagement the modification
        time does not show: read (not refused, not an unproven empty answer) and proven to
        name site visits (``stream_names_visits``). The sync takes a contact moved only by
        our own write for its echo (no engagement read) only then."""
        return self.stream_names_visits is True and self.engaged is not None

    def iter_contacts(self, since: datetime | None, until: datetime) -> Iterator[Contact]:
        self._activity_cache.clear()
        self._stream_untrusted = False
        with self._unknown_lock:  # a new run: its own count of unknown activity types
            self._unknown.clear()
            self.notes.degraded[:] = [n for n in self.notes.degraded
                                      if UNKNOWN_NOTE not in n and STREAM_NOTE not in n]
        params: dict[str, Any] = {"orders[id]": "ASC", "limit": PAGE,
                                  "include": "fieldValues,contactTags"}
        floor = None
        self.engaged = None
        if since is not None:
            floor = since - self.overlap
            params["filters[updated_after]"] = (floor - timedelta(days=1)).date().isoformat()
            # read from a day back, as the sync's engagement fetch asks (one read serves
            # both): who engaged, whether or not the contact record moved
            stream = self._account_activities(since - timedelta(days=1))
            if stream is not None:
                self.engaged = {cid: {e.id for e in events}
                                for cid, events in stream.events.items()}
                for cid, visits in stream.visited.items():
                    self.engaged.setdefault(cid, set()).update(visits)
        yield from self._contact_pages(params, floor, since, until)

    def get_contacts_by_id(self, ids: Sequence[str]) -> list[Contact]:
        """The contacts of ``ids`` as they are now, 100 a call (``GET /contacts?ids=``, the
        list's ``ids`` filter); ids the account no longer has are left out."""
        numeric = [cid for cid in dict.fromkeys(ids) if cid.isdigit()]
        out: list[Contact] = []
        for start in range(0, len(numeric), PAGE):
            chunk = numeric[start:start + PAGE]
            body = self.http.get("/contacts", ids=",".join(chunk), limit=PAGE,
                                 include="fieldValues,contactTags")
            out.extend(self._page_contacts(body, None, None, self.clock()))
        return out

    def _contact_pages(self, params: dict[str, Any], floor: datetime | None,
                       since: datetime | None, until: datetime) -> Iterator[Contact]:
        def fetch(last_id: int | None) -> Mapping[str, Any]:
            return self.http.get("/contacts", **params, id_greater=last_id or 0)

        def next_id(body: Mapping[str, Any]) -> int | None:
            # ``meta.total`` counts what matches from ``id_greater`` on: a page holding all
            # of it is the last (no empty page asked for); a server counting the whole
            # account only costs that one empty page
            rows = body.get("contacts") or []
            total = _int((body.get("meta") or {}).get("total"))
            if len(rows) < PAGE or (total is not None and len(rows) >= total):
                return None
            return max(int(r["id"]) for r in rows if str(r.get("id", "")).isdigit())

        for body in paging.pages(fetch, next_id, crm=self.kind, client=self.client_name,
                                 endpoint="GET /contacts"):
            yield from self._page_contacts(body, floor, since, until)

    def _page_contacts(self, body: Mapping[str, Any], floor: datetime | None,
                       since: datetime | None, until: datetime) -> Iterator[Contact]:
        rows = body.get("contacts") or []
        values = _group(body.get("fieldValues") or [], "contact")
        tags = _group(body.get("contactTags") or [], "contact")
        for row in rows:
            try:
                contact = self._contact(row, values.get(str(row.get("id")), []),
                                        tags.get(str(row.get("id")), []))
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                self.notes.skipped[str(row.get("id"))] = (
                    f"unreadable record: {type(exc).__name__}: {exc}")
                contact = None
            if contact is None:
                continue
            if floor is not None and contact.updated_at and contact.updated_at < floor:
                continue
            if contact.updated_at and contact.updated_at > until and since is not None:
                continue
            yield contact

    def _contact(self, row: Mapping[str, Any], values: list[dict[str, Any]],
                 tags: list[dict[str, Any]]) -> Contact | None:
        cid = str(row.get("id") or "")
        if not cid.isdigit():
            self.notes.skipped[cid or "?"] = f"contact without a numeric id: {cid!r}"
            return None
        ids = self._field_map()
        by_field = {str(v.get("field")): v.get("value") for v in values}
        email = (row.get("email") or "").strip() or None
        fields: dict[str, Any] = {
            "email": email, "first_name": row.get("firstName") or None,
            "last_name": row.get("lastName") or None, "company": row.get("orgname") or None,
        }
        for name, perstag in self.fields.items():
            fid = ids.get(perstag)
            fields[name] = by_field.get(fid) if fid else None
        tag_names = self._tag_names()
        fields["tags"] = [tag_names.get(str(t.get("tag")), str(t.get("tag"))) for t in tags]
        raw = by_field.get(ids.get(self.score_tag, ""))
        try:
            score = int(float(raw)) if raw not in (None, "") else None
        except ValueError:
            score = None
        deal = self._deal_info().get(cid, {})
        if email:
            self._emails[cid] = email
        updated = parse_time(row.get("udate"))
        return Contact(id=cid, email=email, fields=fields, owner_id=deal.get("owner"),
                       updated_at=updated, created_at=parse_time(row.get("cdate")),
                       score_in_crm=score, activity_signature=None,
                       is_customer=bool(deal.get("won")), customer_at=deal.get("won_at"),
                       invited_at=parse_time(by_field.get(ids.get(MARKER_TAG, ""))))

    def _field_map(self) -> dict[str, str]:
        """Personalisation tag -> field id, every page of ``GET /fields`` (an agency's
        account holds more than one page of 100)."""
        if self._field_ids is None:
            self._field_ids = {f["perstag"]: str(f["id"])
                               for rows in self._offset_list("/fields", "fields")
                               for f in rows}
        return self._field_ids

    def _tag_names(self) -> dict[str, str]:
        """Tag id -> name, every page of ``GET /tags``."""
        if self._tags is None:
            self._tags = {str(t["id"]): t.get("tag", "")
                          for rows in self._offset_list("/tags", "tags") for t in rows}
        return self._tags

    def _deal_info(self) -> dict[str, dict[str, Any]]:
        """Per contact: the deal owner (the salesperson) and whether a deal was won."""
        if self._deals is None:
            self._deals = {}
            for deal in self._paged("/deals", "deals", {}):
                if not deal.get("contact"):  # a deal of no contact (the spec's example)
                    continue
                info = self._deals.setdefault(str(deal.get("contact")), {})
                if deal.get("owner"):
                    info.setdefault("owner", str(deal["owner"]))
                if str(deal.get("status")) == "1":
                    info["won"] = True
                    info["won_at"] = parse_time(deal.get("mdate"))
        return self._deals

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
        total = _int((body.get("meta") or {}).get("total"))
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

    # -- engagement ---------------------------------------------------------------------
    def fetch_events(self, contacts: Sequence[Contact],
                     since: datetime | None) -> Mapping[str, list[Event]]:
        ids = [c.id for c in contacts]
        # the account's stream for many contacts, or when this run already read it
        stream = (self._account_activities(since)
                  if len(ids) >= self.bulk_threshold or self._stream_read(since) else None)
        if stream is not None:
            def activities(cid: str) -> list[Event]:
                return [e for e in stream.events.get(cid, [])
                        if since is None or e.occurred_at >= since]
        else:
            if self._stream_refused and ids:
                self._note(REFUSED_NOTE.format(how=self._stream_refused))

            def activities(cid: str) -> list[Event]:
                return self._one_contacts_activities(cid, since)

        got = fan_out(lambda cid: activities(cid) + self._page_visits(cid, since), ids,
                      self.engagement_workers)
        return dict(zip(ids, got, strict=True))

    def _account_activities(self, since: datetime | None) -> _Stream | None:
        """One paged stream of the whole account's activities, or None where each contact
        is asked for its own: the account refuses ``/activities`` without ``contact`` (the
        reference now says "A contact ID is required"; a 4xx, 403 or 404 alike), or its
        stream answered empty and is not proven to work (``stream_names_visits``): an
        empty answer is also what a server gives that lists nothing account-wide. A stream
        read this run from an earlier time serves a later one (callers drop the older
        events)."""
        if not self._account_stream or self._stream_untrusted:
            return None
        for key, stream in self._activity_cache.items():
            if key is None or (since is not None and key <= since):
                return stream
        try:
            stream = self._read_stream({}, since)
        except (SkipRecord, AuthError, NotFoundError) as exc:
            self._account_stream = False
            self._stream_refused = f"{exc.status or 'an error'} ({exc.detail})"
            return None
        if not stream.rows and self.stream_names_visits is not True:
            self._stream_untrusted = True
            return None
        self._activity_cache[since] = stream
        return stream

    def _stream_read(self, since: datetime | None) -> bool:
        return any(key is None or (since is not None and key <= since)
                   for key in self._activity_cache)

    def _one_contacts_activities(self, cid: str, since: datetime | None) -> list[Event]:
        """One contact's scored activities (``/activities?contact=``). A 403 or 404 here
        too leaves opens, clicks and forms unread (said in the sync report); a contact's
        own rows where the account-wide stream answered empty prove that answer wrong."""
        if not self._contact_activities:
            return []
        try:
            stream = self._read_stream({"contact": cid}, since)
        except (AuthError, NotFoundError) as exc:
            self._contact_activities = False
            self._note(UNREAD_NOTE.format(how=f"{exc.status} ({exc.detail})"))
            return []
        if stream.rows and self._stream_untrusted:
            self._note(EMPTY_NOTE)
        return stream.events.get(cid, [])

    def _note(self, note: str) -> None:
        with self._unknown_lock:
            if note not in self.notes.degraded:
                self.notes.degraded.append(note)

    def _activities(self, params: dict[str, Any], since: datetime | None,
                    ) -> dict[str, list[Event]]:
        """The scored activities by contact (``params``: e.g. one ``contact``)."""
        return self._read_stream(params, since).events

    def _read_stream(self, params: dict[str, Any], since: datetime | None) -> _Stream:
        out = _Stream()
        if since is not None:
            params = {**params, "after": since.isoformat()}
        for row in (r for rows in self._pages("/activities", "activities", params)
                    for r in rows):
            out.rows += 1
            if is_visit_row(row):
                # a site visit: its page is in the contact's tracking logs, as the event
                # ``ac-trk-{id}`` (``reference_id`` names the tracking log)
                cid = row_contact(row)
                ref = row.get("reference_id") or f"act-{row.get('id')}"
                if cid:
                    out.visited.setdefault(cid, set()).add(f"ac-trk-{ref}")
                continue
            event = self._activity_event(row)
            if event is not None:
                out.events.setdefault(event.contact_id, []).append(event)
        return out

    def _activity_event(self, row: Mapping[str, Any]) -> Event | None:
        when = parse_time(row.get("tstamp"))
        cid = row_contact(row)
        if when is None or not cid:
            return None
        data = _json_data(row.get("jsonData"))
        kind = activity_kind(row, data)
        eid = f"ac-act-{row.get('id')}"
        campaign = _first(data, "campaign", "campaignid", "campaign_id")
        if kind == "open":
            return Event(eid, cid, EventType.EMAIL_OPEN, when,
                         email_id=campaign or _str(row.get("reference_id")))
        if kind == "click":
            return Event(eid, cid, EventType.EMAIL_CLICK, when,
                         url=_first(data, "url", "link"), email_id=campaign)
        if kind == "form":
            name = _first(data, "form", "name", "formname") or _str(row.get("reference_id"))
            return Event(eid, cid, form_event_type(name), when, name=name,
                         url=_first(data, "url"))
        if kind is not None:  # a known activity that is not engagement (a send, a note)
            return None
        label = str(row.get("reference_type") or row.get("referenceModelName") or "(none)")
        with self._unknown_lock:
            self._unknown[label] += 1
            lines = [f"{n} {UNKNOWN_NOTE} {t!r} ignored (not scored)"
                     for t, n in sorted(self._unknown.items())]
            self.notes.degraded[:] = [n for n in self.notes.degraded
                                      if UNKNOWN_NOTE not in n] + lines
        return None

    def _page_visits(self, cid: str, since: datetime | None) -> list[Event]:
        """Every page of the contact's tracking logs (AC answers 20 a page by default)."""
        out: list[Event] = []
        try:
            for rows in self._offset_list(f"/contacts/{cid}/trackingLogs", "trackingLogs"):
                for row in rows:
                    when = parse_time(row.get("tstamp"))
                    if row.get("type") != "__pagevisit" or when is None:
                        continue
                    if since is not None and when < since:
                        continue
                    out.append(Event(f"ac-trk-{row.get('id')}", cid, EventType.PAGE_VIEW,
                                     when, url=row.get("value")))
        except NotFoundError:
            pass
        return out

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

    # -- score field and writes ------------------------------------------------------------
    def ensure_score_property(self, prop: ScoreProperty) -> None:
        self.score_tag = perstag_for(prop.name)
        if self.score_tag in (self._field_ids or {}):
            return
        body = self.http.get("/fields", **{"filters[perstag]": self.score_tag})
        if body.get("fields"):
            if self._field_ids is not None:
                self._field_ids[self.score_tag] = str(body["fields"][0]["id"])
            return
        created = self.http.post("/fields", {"field": {
            "title": prop.label, "type": "text", "perstag": self.score_tag,
            "descript": prop.description, "visible": 1}})
        field = created.get("field") or (created.get("fields") or [{}])[0]
        self.http.post("/fieldRels", {"fieldRel": {"field": field["id"], "relid": 0}})
        self._field_ids = None

    def write_scores(self, scores: Mapping[str, int]) -> WriteReport:
        report = WriteReport()
        fid = self._field_map().get(self.score_tag)
        if fid is None:
            raise FixConfiguration("the score field does not exist", crm=self.kind,
                                   client=self.client_name, endpoint="write_scores",
                                   fix="the sync creates it; run `connector sync` again")
        self._learn_emails([str(cid) for cid in scores if str(cid) not in self._emails])
        known = {}
        for cid, value in scores.items():
            email = self._emails.get(str(cid))
            if email is None:
                report.failed[str(cid)] = "contact does not exist (no email known)"
            else:
                known[str(cid)] = (email, str(int(value)))
        if len(known) >= self.bulk_write_min:  # one bulk import per 250, else one call each
            self._bulk(list(known.items()), fid, report)
        else:
            for cid, (email, text) in known.items():
                report.calls += 1
                try:
                    self.http.post("/contact/sync", {"contact": {
                        "email": email, "fieldValues": [{"field": fid, "value": text}]}})
                    report.written.append(cid)
                except SkipRecord as exc:
                    report.failed[cid] = exc.detail
        return report

    def _learn_emails(self, ids: list[str]) -> None:
        """Look up the emails of contacts not pulled in this run (writes go by email)."""
        numeric = [cid for cid in ids if cid.isdigit()]
        for start in range(0, len(numeric), PAGE):
            chunk = numeric[start:start + PAGE]
            body = self.http.get("/contacts", ids=",".join(chunk), limit=PAGE)
            for row in body.get("contacts") or []:
                if row.get("email"):
                    self._emails[str(row["id"])] = row["email"]

    def _bulk(self, items: list[tuple[str, tuple[str, str]]], fid: str,
              report: WriteReport) -> None:
        """Write field ``fid`` of each (contact id, (email, value)): one bulk import per
        250, side by side, then their outcomes."""
        batches = [items[i:i + BULK] for i in range(0, len(items), BULK)]
        queued = {self._queue(batch, fid, report): batch for batch in batches}
        self._await(queued, report)

    def _queue(self, items: list[tuple[str, tuple[str, str]]], fid: str,
               report: WriteReport) -> str:
        report.calls += 1
        body = self.http.post("/import/bulk_import", {"contacts": [
            {"email": email, "fields": [{"id": int(fid), "value": value}]}
            for _, (email, value) in items]})
        return str(body.get("batchId"))

    def _await(self, queued: dict[str, list[tuple[str, tuple[str, str]]]],
               report: WriteReport) -> None:
        """Poll the queued imports until they complete, then report per contact.

        AC runs the imports of one write side by side, so each round polls every one still
        pending and the back-off is shared: one wait per round, not per import.
        """
        pending = dict(queued)
        pause = self.import_poll_seconds
        for _ in range(60):
            for batch, items in list(pending.items()):
                info = self.http.get("/import/info", batchId=batch)
                if info.get("status") != "completed":
                    continue
                done = {str(x) for x in info.get("success") or []}
                failed_emails = {str(x).lower() for x in info.get("failure") or []}
                for cid, (email, _) in items:
                    if cid in done:
                        report.written.append(cid)
                    else:
                        report.failed[cid] = ("rejected by the bulk import"
                                              if email.lower() in failed_emails
                                              else "not confirmed by the bulk import")
                del pending[batch]
            if not pending:
                return
            if stopping.requested():  # a stop does not wait out AC's queue: what is not
                break  # confirmed yet is a failed write, retried (idempotent) next sync
            self.sleep(pause)
            pause = min(pause * 2, 10.0)
        for batch, items in pending.items():
            for cid, _ in items:
                report.failed[cid] = f"bulk import {batch} did not finish; retried next sync"

    # -- warm-up marker ---------------------------------------------------------------------
    # A text custom field like the score (a "datetime" field's stored format and time zone
    # are not documented; a text field keeps our ISO 8601 UTC value verbatim), created with
    # POST /fields + /fieldRels, written by contact id with POST /fieldValues and read with
    # GET /contacts/{id}/fieldValues (../shared/specs/activecampaign-v3.openapi.json).
    def get_invited_at(self, contact: Contact) -> datetime | None:
        fid = self._field_map().get(MARKER_TAG)
        if fid is None or not contact.id.isdigit():
            return None  # the field does not exist yet: nobody was marked
        try:
            body = self.http.get(f"/contacts/{contact.id}/fieldValues")
        except NotFoundError:
            return None
        for row in body.get("fieldValues") or []:
            if str(row.get("field")) == fid:
                return parse_time(row.get("value"))
        return None

    def set_invited_at(self, contact: Contact, at: datetime) -> None:
        fid = self._marker_field()
        self.http.post("/fieldValues", {"fieldValue": {
            "contact": contact.id, "field": fid, "value": _marker_value(at)}})

    def set_invited_at_many(self, marks: Sequence[tuple[Contact, datetime]]) -> WriteReport:
        """The markers of a delivery: by the bulk import the scores use (several contacts a
        call, by email) where the contact comes with the email this run pulled and there
        are enough, else one ``POST /fieldValues`` each (by id: an email read in an earlier
        run may have changed, and an import by an unknown email would create a contact)."""
        report = WriteReport()
        fid = self._marker_field()
        known = {c.id: (c.email, _marker_value(at)) for c, at in marks
                 if c.email and self._emails.get(c.id) == c.email}
        if len(known) < self.bulk_write_min:
            known = {}
        if known:
            self._bulk(list(known.items()), fid, report)
        for contact, at in marks:
            if contact.id in known:
                continue
            report.calls += 1
            try:
                self.set_invited_at(contact, at)
                report.written.append(contact.id)
            except (CRMError, OSError) as exc:  # the others are still written
                report.failed[contact.id] = str(exc)
        return report

    def _marker_field(self) -> str:
        fid = self._field_map().get(MARKER_TAG)
        if fid is not None:
            return fid
        body = self.http.get("/fields", **{"filters[perstag]": MARKER_TAG})
        if not body.get("fields"):
            created = self.http.post("/fields", {"field": {
                "title": MARKER_LABEL, "type": "text", "perstag": MARKER_TAG,
                "descript": MARKER_DESCRIPTION, "visible": 1}})
            field = created.get("field") or (created.get("fields") or [{}])[0]
            self.http.post("/fieldRels", {"fieldRel": {"field": field["id"], "relid": 0}})
            fid = str(field["id"])
        else:
            fid = str(body["fields"][0]["id"])
        self._field_map()[MARKER_TAG] = fid
        return fid

    # -- people and actions -----------------------------------------------------------
    def get_owner(self, contact: Contact) -> Owner | None:
        uid = contact.owner_id or self._deal_info().get(contact.id, {}).get("owner")
        if not uid:
            return None
        if uid not in self._users:
            try:
                user = self.http.get(f"/users/{uid}").get("user") or {}
            except NotFoundError:
                self._users[uid] = None
            else:
                name = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
                self._users[uid] = Owner(id=uid, name=name or user.get("email", ""),
                                         email=user.get("email", ""))
        return self._users[uid]

    def create_task(self, contact: Contact, owner: Owner | None, subject: str, body: str) -> str:
        task = {"title": subject, "note": body, "relid": int(contact.id), "ownerType": "contact",
                "duedate": self.clock().isoformat(), "dealTasktype": 1, "status": 0}
        if owner and owner.id.isdigit():
            task["assignee"] = int(owner.id)
        created = self.http.post("/dealTasks", {"dealTask": task})
        return str((created.get("dealTask") or {}).get("id"))

    def add_tag(self, contact: Contact, tag: str) -> None:
        names = {v: k for k, v in self._tag_names().items()}
        tid = names.get(tag)
        if tid is None:
            created = self.http.post("/tags", {"tag": {"tag": tag, "tagType": "contact"}})
            tid = str(created["tag"]["id"])
            self._tags = None
        self.http.post("/contactTags", {"contactTag": {"contact": contact.id, "tag": tid}})

    def start_automation(self, contact: Contact, automation_id: str) -> None:
        self.http.post("/contactAutomations", {"contactAutomation": {
            "contact": contact.id, "automation": automation_id}})

    def unsubscribe(self, contact: Contact, list_id: str | None = None) -> None:
        self.http.post("/contactLists", {"contactList": {
            "list": list_id or "1", "contact": contact.id, "status": 2}})

    # -- what the account can do (connector/crm/activecampaign_detect.py) --------------------
    def detect_capabilities(self) -> Detected:
        from connector.crm.activecampaign_detect import detect

        return detect(self)[0]

    def use_capabilities(self, detected: Detected) -> list[str]:
        from connector.crm.activecampaign_detect import use

        return use(self, detected)

    def close(self) -> None:
        self.http.close()


@dataclass
class _Stream:
    """The activity stream read once per run: scored events by contact, and the contacts
    with a ``TrackingLog`` row (a site visit, read from their tracking logs) and the event
    ids those visits will have."""

    events: dict[str, list[Event]] = field(default_factory=dict)
    visited: dict[str, set[str]] = field(default_factory=dict)
    rows: int = 0  # every row read, engagement or not


def _norm(name: Any) -> str:
    return str(name or "").lower().replace("-", "").replace("_", "").replace(" ", "")


def is_visit_row(row: Mapping[str, Any]) -> bool:
    """Whether an activity-stream row is a site visit (a ``TrackingLog``)."""
    return "trackinglog" in (_norm(row.get("reference_type")),
                             _norm(row.get("referenceModelName")))


def row_contact(row: Mapping[str, Any]) -> str:
    """The contact an activity-stream row is about ("" when it names none)."""
    return str(row.get("subscriberid") or row.get("contact") or "")


def activity_kind(row: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """"open", "click", "form", "other" (known, not engagement) or None (unknown)."""
    for name in (_norm(row.get("reference_type")), _norm(row.get("referenceModelName"))):
        if not name:
            continue
        if name in CLICK_TYPES:
            # the campaign's "Read Tracker" is a link whose link is "open": an open
            return "open" if _norm(_first(data, "link", "url")) == "open" else "click"
        if name in OPEN_TYPES:
            return "open"
        if name in FORM_TYPES:
            return "form"
        if name in NOT_ENGAGEMENT:
            return "other"
    return None


def _json_data(value: Any) -> dict[str, Any]:
    """``jsonData``: an object, a JSON string of one, or null."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "", 0, "0") else None


def _first(data: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = _str(data.get(key))
        if value is not None:
            return value
    return None


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row.get(key)), []).append(row)
    return out
