"""The HubSpot pull: every contact page by page (a full pull), the contacts modified since
the bookmark by search (an incremental one), or given contacts by id (a webhook's)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from hubspot.crm.contacts import PublicObjectSearchRequest

from connector.crm.base import MARKER_NAME
from connector.crm.fanout import fan_out
from connector.crm.hubspot.property_engagement import ENGAGEMENT_PROPERTIES, SIGNATURE_PROPERTIES
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.hubspot.values import ms, next_cursor, parse_time, parse_time_or_none
from connector.errors import FixConfiguration, NotFoundError
from connector.models import Contact

DEFAULT_FIELDS = {
    "email": "email", "first_name": "firstname", "last_name": "lastname",
    "job_title": "jobtitle", "company": "company", "company_size": "numberofemployees",
    "industry": "industry", "country": "country", "lifecycle_stage": "lifecyclestage",
}
EXTRA = ("hubspot_owner_id", "hs_lifecyclestage_customer_date", "lastmodifieddate",
         "createdate")
SEARCH_CAP = 10_000
SEARCH_PAGE = 200


class ContactsPull(HubSpotSession):
    """``iter_contacts`` and ``get_contacts_by_id``."""

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

    def _search_since(self, start: datetime, until: datetime) -> Iterator[Contact]:
        """Ascending by lastmodifieddate, keyset-paged: each page asks again from the newest
        modification time seen, so contacts the sync modifies meanwhile (its own score
        writes move them past ``until``) cannot shift the pages and skip others, and the
        10,000-result cap never applies. Contacts seen twice at a page boundary are yielded
        once; only a page entirely at one time pages by offset within it."""
        api = self._api("search", lambda: self.sdk.crm.contacts.search_api)
        low, high = ms(start), ms(until)
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
                stamp = parse_time_or_none(obj.properties.get("lastmodifieddate"))
                stamp_ms = max(ms(stamp), low) if stamp is not None else low
                if stamp_ms == low and obj.id in at_low:
                    continue
                if stamp_ms > low:
                    low, at_low, moved = stamp_ms, set(), True
                at_low.add(obj.id)
                contact = self._safe_contact(obj.id, obj.properties)
                if contact is not None:
                    yield contact
            if not next_cursor(page):
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
        customer_at = parse_time(props.get("hs_lifecyclestage_customer_date"))
        if not (self._events_api_ok and self._email_api_ok):  # what degraded events use
            self._props_cache[str(contact_id)] = {k: props.get(k)
                                                  for k in ENGAGEMENT_PROPERTIES}
        return Contact(
            id=str(contact_id),
            email=props.get("email"),
            fields=fields,
            owner_id=props.get("hubspot_owner_id") or None,
            updated_at=parse_time(props.get("lastmodifieddate")),
            created_at=parse_time(props.get("createdate")),
            score_in_crm=score,
            activity_signature="|".join(str(props.get(c) or "")
                                        for c in SIGNATURE_PROPERTIES),
            is_customer=(props.get("lifecyclestage") == "customer"),
            customer_at=customer_at,
            invited_at=parse_time_or_none(props.get(MARKER_NAME)),
        )
