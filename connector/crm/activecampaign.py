"""ActiveCampaign (API v3) with ``requests``, every call through the shared HTTP layer.

Pull: contacts ordered by id and paged with ``id_greater`` (never deep offsets);
incrementally with ``filters[updated_after]``, which has date granularity in the account's
time zone: the filter asks from a day before the bookmark and the exact ``udate`` (which
carries its offset) drops what is older, so nothing updated in the same second or day is
missed and nothing is yielded twice. Fit data from standard fields, custom field values
(by personalisation tag) and tags; ground truth and owners from deals. Engagement:
opens, clicks and forms from ``/activities`` (one account-wide stream for big batches),
page visits from each contact's tracking logs. ActiveCampaign exposes no engagement
counters on the contact, so every contact the incremental pull yields has its engagement
fetched (``activity_signature`` is None): the cost follows the contacts that changed.

The score lives in a *text* custom field (ActiveCampaign has no number type), written as
a plain integer ("30", "-5"): sales filter with a segment condition "Lead score (connector)
is greater than 29", or sort the contact list by the column (see docs/activecampaign.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.crm.base import PullNotes, ScoreProperty, WriteReport
from connector.crm.fanout import DEFAULT_WORKERS, fan_out
from connector.crm.mapping import form_event_type
from connector.errors import FixConfiguration, NetworkError, NotFoundError, SkipRecord
from connector.http import HttpLayer, Limit, RateLimiter
from connector.http.requests_client import JsonClient
from connector.models import Contact, Event, EventType, Owner

DEFAULT_FIELDS = {"job_title": "JOB_TITLE", "company_size": "COMPANY_SIZE",
                  "industry": "INDUSTRY", "country": "COUNTRY"}
PAGE = 100
BULK = 250
ZERO_DATES = ("", "0000-00-00", "0000-00-00 00:00:00")


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


class ActiveCampaignCRM:
    """The ActiveCampaign adapter (see the module docstring)."""

    kind = "activecampaign"
    incremental_ordered = False

    def __init__(self, client_name: str, token: str, base_url: str, *,
                 field_map: Mapping[str, str] | None = None,
                 score_field: str = "connector_lead_score", requests_per_second: float = 5.0,
                 clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 overlap_seconds: int = 300, bulk_threshold: int = 20,
                 max_attempts: int = 6, engagement_workers: int = DEFAULT_WORKERS,
                 import_poll_seconds: float = 0.25) -> None:
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
        self.bulk_threshold = bulk_threshold
        self.engagement_workers = engagement_workers
        self.import_poll_seconds = import_poll_seconds  # first pause; doubles up to 10 s
        self.notes = PullNotes()
        # "5 requests per second": a rolling one-second window never sends more in any
        # second, and catches up within the second the time spent scoring and storing (a
        # one-token bucket would lose it); a fractional rate gets a bucket of one token
        whole = requests_per_second >= 1 and float(requests_per_second).is_integer()
        limit = Limit(requests_per_second, 1.0, burst=None if whole else 1)
        limiter = RateLimiter({"default": limit}, monotonic, sleep)
        self.layer = HttpLayer("activecampaign", client_name, limiter, clock=monotonic,
                               sleep=sleep, max_attempts=max_attempts, secrets=[token])
        self.http = JsonClient(base, self.layer, headers={"Api-Token": token},
                               classify=lambda method, path: "default")
        self._field_ids: dict[str, str] | None = None
        self._tags: dict[str, str] | None = None
        self._deals: dict[str, dict[str, Any]] | None = None
        self._users: dict[str, Owner | None] = {}
        self._emails: dict[str, str] = {}
        self._activity_cache: dict[datetime | None, dict[str, list[Event]]] = {}

    @property
    def http_stats(self) -> Any:
        return self.layer.stats

    def __repr__(self) -> str:
        return f"ActiveCampaignCRM(client={self.client_name!r}, base_url={self.base_url!r})"

    # -- contacts ---------------------------------------------------------------------
    def iter_contacts(self, since: datetime | None, until: datetime) -> Iterator[Contact]:
        self._activity_cache.clear()
        params: dict[str, Any] = {"orders[id]": "ASC", "limit": PAGE,
                                  "include": "fieldValues,contactTags"}
        floor = None
        if since is not None:
            floor = since - self.overlap
            params["filters[updated_after]"] = (floor - timedelta(days=1)).date().isoformat()
        last_id = 0
        while True:
            body = self.http.get("/contacts", **params, id_greater=last_id)
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
            if len(rows) < PAGE:
                return
            next_id = max(int(r["id"]) for r in rows if str(r.get("id", "")).isdigit())
            if next_id <= last_id:
                raise NetworkError(f"id_greater did not advance past {last_id}",
                                   crm=self.kind, client=self.client_name,
                                   endpoint="GET /contacts")
            last_id = next_id

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
                       is_customer=bool(deal.get("won")), customer_at=deal.get("won_at"))

    def _field_map(self) -> dict[str, str]:
        if self._field_ids is None:
            body = self.http.get("/fields", limit=100)
            self._field_ids = {f["perstag"]: str(f["id"]) for f in body.get("fields") or []}
        return self._field_ids

    def _tag_names(self) -> dict[str, str]:
        if self._tags is None:
            body = self.http.get("/tags", limit=100)
            self._tags = {str(t["id"]): t.get("tag", "") for t in body.get("tags") or []}
        return self._tags

    def _deal_info(self) -> dict[str, dict[str, Any]]:
        """Per contact: the deal owner (the salesperson) and whether a deal was won."""
        if self._deals is None:
            self._deals = {}
            offset = 0
            while True:
                body = self.http.get("/deals", limit=PAGE, offset=offset)
                rows = body.get("deals") or []
                for deal in rows:
                    info = self._deals.setdefault(str(deal.get("contact")), {})
                    if deal.get("owner"):
                        info.setdefault("owner", str(deal["owner"]))
                    if str(deal.get("status")) == "1":
                        info["won"] = True
                        info["won_at"] = parse_time(deal.get("mdate"))
                if len(rows) < PAGE:
                    break
                offset += PAGE
        return self._deals

    # -- engagement ---------------------------------------------------------------------
    def fetch_events(self, contacts: Sequence[Contact],
                     since: datetime | None) -> Mapping[str, list[Event]]:
        ids = [c.id for c in contacts]
        if len(ids) >= self.bulk_threshold:
            stream = self._account_activities(since)

            def activities(cid: str) -> list[Event]:
                return list(stream.get(cid, []))
        else:
            def activities(cid: str) -> list[Event]:
                return self._activities({"contact": cid}, since).get(cid, [])

        got = fan_out(lambda cid: activities(cid) + self._page_visits(cid, since), ids,
                      self.engagement_workers)
        return dict(zip(ids, got, strict=True))

    def _account_activities(self, since: datetime | None) -> dict[str, list[Event]]:
        if since not in self._activity_cache:
            self._activity_cache[since] = self._activities({}, since)
        return self._activity_cache[since]

    def _activities(self, params: dict[str, Any], since: datetime | None,
                    ) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        offset = 0
        if since is not None:
            params = {**params, "after": since.isoformat()}
        while True:
            body = self.http.get("/activities", **params, limit=PAGE, offset=offset)
            rows = body.get("activities") or []
            for row in rows:
                event = self._activity_event(row)
                if event is not None:
                    out.setdefault(event.contact_id, []).append(event)
            if len(rows) < PAGE:
                return out
            offset += PAGE

    def _activity_event(self, row: Mapping[str, Any]) -> Event | None:
        when = parse_time(row.get("tstamp"))
        cid = str(row.get("subscriberid") or "")
        if when is None or not cid:
            return None
        data = row.get("jsonData") or {}
        kind = row.get("reference_type")
        eid = f"ac-act-{row.get('id')}"
        if kind == "open":
            return Event(eid, cid, EventType.EMAIL_OPEN, when,
                         email_id=data.get("campaign") or row.get("reference_id"))
        if kind == "link":
            return Event(eid, cid, EventType.EMAIL_CLICK, when, url=data.get("url"),
                         email_id=data.get("campaign"))
        if kind == "form":
            name = data.get("form") or row.get("reference_id")
            return Event(eid, cid, form_event_type(name), when, name=name,
                         url=data.get("url") or None)
        return None

    def _page_visits(self, cid: str, since: datetime | None) -> list[Event]:
        try:
            body = self.http.get(f"/contacts/{cid}/trackingLogs")
        except NotFoundError:
            return []
        out = []
        for row in body.get("trackingLogs") or []:
            when = parse_time(row.get("tstamp"))
            if row.get("type") != "__pagevisit" or when is None:
                continue
            if since is not None and when < since:
                continue
            out.append(Event(f"ac-trk-{row.get('id')}", cid, EventType.PAGE_VIEW, when,
                             url=row.get("value")))
        return out

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
                known[str(cid)] = (email, int(value))
        if len(known) >= self.bulk_threshold:
            items = list(known.items())
            batches = [items[i:i + BULK] for i in range(0, len(items), BULK)]
            queued = {self._queue(batch, fid, report): batch for batch in batches}
            self._await(queued, report)
        else:
            for cid, (email, value) in known.items():
                report.calls += 1
                try:
                    self.http.post("/contact/sync", {"contact": {
                        "email": email, "fieldValues": [{"field": fid, "value": str(value)}]}})
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

    def _queue(self, items: list[tuple[str, tuple[str, int]]], fid: str,
               report: WriteReport) -> str:
        report.calls += 1
        body = self.http.post("/import/bulk_import", {"contacts": [
            {"email": email, "fields": [{"id": int(fid), "value": str(value)}]}
            for _, (email, value) in items]})
        return str(body.get("batchId"))

    def _await(self, queued: dict[str, list[tuple[str, tuple[str, int]]]],
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
            self.sleep(pause)
            pause = min(pause * 2, 10.0)
        for batch, items in pending.items():
            for cid, _ in items:
                report.failed[cid] = f"bulk import {batch} did not finish; retried next sync"

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

    def close(self) -> None:
        self.http.close()


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row.get(key)), []).append(row)
    return out
