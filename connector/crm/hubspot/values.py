"""HubSpot's value formats: times (ISO 8601 or epoch milliseconds) and the SDK's paging
cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: str | None) -> datetime | None:
    """A datetime property (ISO 8601 or epoch milliseconds); an unreadable one raises
    ValueError (the record is skipped and reported)."""
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def parse_time_or_none(value: str | None) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError:
        return None


def next_cursor(page: Any) -> str | None:
    """The ``paging.next.after`` cursor of an SDK page, or None on the last page."""
    paging = getattr(page, "paging", None)
    return paging.next.after if paging and paging.next else None


def iso(at: datetime) -> str:
    """A datetime property's value: ISO 8601 in UTC to the millisecond."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ms(dt: datetime) -> int:
    """Epoch milliseconds, as the search filters and the email events API take them."""
    return int(dt.timestamp() * 1000)

