"""HubSpot engagement per contact: page views and forms from the events API (Enterprise),
opens and clicks from the email events API (Professional and up); where an API is missing
the contact's own properties stand in (``property_engagement.py``), said in the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.crm.fanout import fan_out
from connector.crm.hubspot.property_engagement import (
    EMAIL_NOTE,
    ENGAGEMENT_PROPERTIES,
    EVENTS_NOTE,
    email_events,
    visit_and_form_events,
)
from connector.crm.hubspot.session import HubSpotSession
from connector.crm.hubspot.values import ms
from connector.crm.mapping import form_event_type
from connector.crm.paging import pages
from connector.errors import AuthError, NotFoundError
from connector.models import Contact, Event, EventType


class Engagement(HubSpotSession):
    """``fetch_events``."""

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
                params["startTimestamp"] = ms(since)
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
