"""HubSpot engagement read from the contact's own properties, for portals whose plan has no
events API (page views by URL, form submissions: Enterprise) or no email events API (opens
and clicks per email: the ``content`` scope, Marketing Hub Professional or higher).

Every value here is a HubSpot default contact property, readable on every plan (names as
``GET /crm/v3/properties/contacts`` lists them; the recorded shape is
tests/corpus/hubspot/properties_contacts_engagement.json):

- ``hs_email_open`` / ``hs_email_click`` ("Marketing emails opened / clicked") count the
  marketing *emails* opened or clicked, each email once: a repeat open of the same email
  moves ``hs_email_last_open_date`` but not the count;
- ``hs_analytics_first_url`` / ``hs_analytics_last_url`` ("First / Last Page Seen") with
  ``hs_analytics_first_timestamp`` / ``hs_analytics_last_timestamp`` ("Time First / Last
  Seen"); ``hs_analytics_*_visit_timestamp`` is the start of the first / last session;
- ``first_conversion_event_name`` / ``recent_conversion_event_name`` ("First / Recent
  Conversion", the form, often as "Page title: Form name") with ``first_conversion_date`` /
  ``recent_conversion_date``.

Event ids carry the contact id and, for pages and forms, the moment they happened: the same
property value always makes the same event, never one dated by ``lastmodifieddate`` (which
the connector's own score write moves). Pages and forms seen at earlier syncs stay in the
state store, so an incrementally synced portal keeps every page that was once the last one.
What this cannot see: pages and forms between the first and the last, and repeat opens or
clicks of an email already counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connector.crm.hubspot.values import ms
from connector.crm.mapping import form_event_type
from connector.models import Event, EventType

EMAIL_PROPERTIES = ("hs_email_open", "hs_email_click", "hs_email_first_open_date",
                    "hs_email_last_open_date", "hs_email_first_click_date",
                    "hs_email_last_click_date")
VISIT_PROPERTIES = ("hs_analytics_num_page_views", "hs_analytics_num_visits",
                    "hs_analytics_first_url", "hs_analytics_first_timestamp",
                    "hs_analytics_first_visit_timestamp", "hs_analytics_last_url",
                    "hs_analytics_last_timestamp", "hs_analytics_last_visit_timestamp")
CONVERSION_PROPERTIES = ("num_conversion_events", "first_conversion_event_name",
                         "first_conversion_date", "recent_conversion_event_name",
                         "recent_conversion_date")
ENGAGEMENT_PROPERTIES = EMAIL_PROPERTIES + VISIT_PROPERTIES + CONVERSION_PROPERTIES

# What ``activity_signature`` is made of: counters AND dates, because HubSpot's email
# counters count emails, not opens, so only the dates move on a repeat open or click.
SIGNATURE_PROPERTIES = ("hs_email_open", "hs_email_click", "hs_email_last_open_date",
                        "hs_email_last_click_date", "hs_analytics_num_page_views",
                        "hs_analytics_last_timestamp", "hs_analytics_last_visit_timestamp",
                        "num_conversion_events", "recent_conversion_date")

MAX_COUNTED = 200  # a counter beyond any rule's reach is not worth 10,000 stored events

EMAIL_NOTE = ("HubSpot email events API unavailable on this portal's plan (needs the "
              "'content' scope, Marketing Hub Professional or higher): opens and clicks are "
              "counted from hs_email_open / hs_email_click, one per email; repeat opens and "
              "clicks of an email already counted are not seen")
EVENTS_NOTE = ("HubSpot events API unavailable for this portal (needs Enterprise): page "
               "views are the first and last page seen and forms the first and most recent "
               "conversion, from the contact's properties; pages and forms in between are "
               "not seen")


def parse_time(value: Any) -> datetime | None:
    """A HubSpot datetime property: ISO 8601 (CRM v3) or epoch milliseconds (v1, some
    search answers); None for unset or unreadable values."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _count(value: Any) -> int:
    try:
        return max(0, min(MAX_COUNTED, int(float(str(value)))))
    except (TypeError, ValueError):
        return 0


def email_events(contact_id: str, props: Mapping[str, Any]) -> list[Event]:
    """One open per email opened and one click per email clicked. The first is dated at
    the first open (click) date, the newest at the last one, the others at the first: a
    count says how many, not when."""
    out: list[Event] = []
    for kind, word in ((EventType.EMAIL_OPEN, "open"), (EventType.EMAIL_CLICK, "click")):
        n = _count(props.get(f"hs_email_{word}"))
        first = parse_time(props.get(f"hs_email_first_{word}_date"))
        last = parse_time(props.get(f"hs_email_last_{word}_date"))
        first, last = first or last, last or first
        if n == 0 or first is None or last is None:
            continue
        for k in range(1, n + 1):
            out.append(Event(f"hs-{contact_id}-{word}-{k}", contact_id, kind,
                             last if k == n else first, email_id=f"{word}-{k}"))
    return out


def visit_and_form_events(contact_id: str, props: Mapping[str, Any]) -> list[Event]:
    """The first and last page seen, and the first and most recent conversion."""
    by_id: dict[str, Event] = {}
    for url_key, seen_key, session_key in (
            ("hs_analytics_first_url", "hs_analytics_first_timestamp",
             "hs_analytics_first_visit_timestamp"),
            ("hs_analytics_last_url", "hs_analytics_last_timestamp",
             "hs_analytics_last_visit_timestamp")):
        url = props.get(url_key)
        when = parse_time(props.get(seen_key)) or parse_time(props.get(session_key))
        if url and when:
            event_id = f"hs-{contact_id}-view-{ms(when)}"
            by_id[event_id] = Event(event_id, contact_id, EventType.PAGE_VIEW, when,
                                    url=str(url))
    for name_key, date_key in (("first_conversion_event_name", "first_conversion_date"),
                               ("recent_conversion_event_name", "recent_conversion_date")):
        name = props.get(name_key)
        when = parse_time(props.get(date_key))
        if name and when:
            event_id = f"hs-{contact_id}-form-{ms(when)}"
            by_id[event_id] = Event(event_id, contact_id, form_event_type(str(name)), when,
                                    name=str(name))
    return list(by_id.values())
