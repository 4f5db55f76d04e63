"""The articles' scenarios as events (shared by engine, CRM and end-to-end tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

from connector.models import Event, EventType

SITE = "https://www.example-agency.com"


def story_000(contact_id: str, last: datetime) -> list[Event]:
    """000: contact page, two service pages, front page and seven opens = 30 (warm)."""
    def at(hours_before: int) -> datetime:
        return last - timedelta(hours=hours_before)
    events = [
        Event(f"{contact_id}-pv1", contact_id, EventType.PAGE_VIEW, at(9), url=f"{SITE}/contact"),
        Event(f"{contact_id}-pv2", contact_id, EventType.PAGE_VIEW, at(8),
              url=f"{SITE}/services/seo"),
        Event(f"{contact_id}-pv3", contact_id, EventType.PAGE_VIEW, at(7),
              url=f"{SITE}/services/hubspot"),
        Event(f"{contact_id}-pv4", contact_id, EventType.PAGE_VIEW, at(6), url=f"{SITE}/"),
    ]
    for i in range(7):
        events.append(Event(f"{contact_id}-op{i}", contact_id, EventType.EMAIL_OPEN,
                            at(6 - i) if i < 6 else last, email_id=f"nl-{i + 1}"))
    return events


def story_002(contact_id: str, last: datetime) -> list[Event]:
    """002: two guides (5 + 10), 4 opens (+5), clicks in 3 emails (+5), 5 blog posts (+15)."""
    def at(hours_before: int) -> datetime:
        return last - timedelta(hours=hours_before)
    events = [
        Event(f"{contact_id}-dl1", contact_id, EventType.DOWNLOAD, at(20),
              name="guide-inbound-marketing"),
        Event(f"{contact_id}-dl2", contact_id, EventType.DOWNLOAD, at(19),
              name="guide-marketing-automation"),
    ]
    events += [Event(f"{contact_id}-op{i}", contact_id, EventType.EMAIL_OPEN, at(18 - i),
                     email_id=f"nl-{i + 1}") for i in range(4)]
    events += [Event(f"{contact_id}-cl{i}", contact_id, EventType.EMAIL_CLICK, at(12 - i),
                     email_id=f"nl-{i + 1}", url=f"{SITE}/guides") for i in range(3)]
    events += [Event(f"{contact_id}-bl{i}", contact_id, EventType.PAGE_VIEW,
                     at(5 - i) if i < 4 else last, url=f"{SITE}/blog/post-{i + 1}")
               for i in range(5)]
    return events
