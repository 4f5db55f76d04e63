"""The ActiveCampaign pull: contacts paged by id (``id_greater``), incrementally from a day
before the bookmark and cut at the exact ``udate``, with their field values and tags, and
``engaged`` from the account's activity stream."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from connector.crm import paging
from connector.crm.activecampaign.activities import UNKNOWN_NOTE
from connector.crm.activecampaign.engagement import STREAM_NOTE, Engagement
from connector.crm.activecampaign.lookups import Lookups
from connector.crm.activecampaign.marker import MARKER_TAG
from connector.crm.activecampaign.session import PAGE
from connector.crm.activecampaign.values import group_by, int_or_none, parse_time
from connector.models import TAGS_FIELD, Contact

DEFAULT_FIELDS = {"job_title": "JOB_TITLE", "company_size": "COMPANY_SIZE",
                  "industry": "INDUSTRY", "country": "COUNTRY"}


class ContactsPull(Engagement, Lookups):
    """``iter_contacts``, ``get_contacts_by_id`` and ``stream_complete``."""

    @property
    def stream_complete(self) -> bool:
        """Whether this run's activity stream names every engagement the modification
        time does not show: read (not refused, not an unproven empty answer) and proven to
        name site visits (``stream_names_visits``). The sync takes a contact moved only by
        our own write for its echo (no engagement read) only then."""
        return self.stream_names_visits is True and self.engaged is not None

    def iter_contacts(self, since: datetime | None, until: datetime) -> Iterator[Contact]:
        self._activity_cache.clear()
        self.spool.clear()  # a new run: the streams of an earlier one are not wanted
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
                self.engaged = stream.engaged()
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
            out.extend(self._page_contacts(body, None, None, self.clock.now()))
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
            total = int_or_none((body.get("meta") or {}).get("total"))
            if len(rows) < PAGE or (total is not None and len(rows) >= total):
                return None
            return max(int(r["id"]) for r in rows if str(r.get("id", "")).isdigit())

        for body in paging.pages(fetch, next_id, crm=self.kind, client=self.client_name,
                                 endpoint="GET /contacts"):
            yield from self._page_contacts(body, floor, since, until)

    def _page_contacts(self, body: Mapping[str, Any], floor: datetime | None,
                       since: datetime | None, until: datetime) -> Iterator[Contact]:
        rows = body.get("contacts") or []
        values = group_by(body.get("fieldValues") or [], "contact")
        tags = group_by(body.get("contactTags") or [], "contact")
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
        fields[TAGS_FIELD] = [tag_names.get(str(t.get("tag")), str(t.get("tag"))) for t in tags]
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
