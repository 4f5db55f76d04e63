"""ActiveCampaign's value formats: dates, personalisation tags, numbers and grouped rows of
a side-loaded list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
    """A field's personalisation tag (AC spells them in capitals)."""
    return name.upper()


def int_or_none(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def group_by(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """Side-loaded rows (``include=fieldValues``) by the contact they belong to."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row.get(key)), []).append(row)
    return out
