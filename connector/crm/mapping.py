"""Mapping rules shared by the adapters, so both CRMs turn the same behaviour into the
same events."""

from __future__ import annotations

from connector.models import EventType

DOWNLOAD_WORDS = ("guide", "ebook", "e-book", "download", "whitepaper", "checklist")


def form_event_type(form_name: str | None) -> str:
    """A form whose name says it hands out content (a guide, an e-book) is a download;
    any other form is a form submission."""
    name = (form_name or "").lower()
    return EventType.DOWNLOAD if any(w in name for w in DOWNLOAD_WORDS) else \
        EventType.FORM_SUBMISSION
