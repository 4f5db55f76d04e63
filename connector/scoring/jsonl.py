"""Read contacts with their events from a JSON Lines file (offline scoring, samples).

One contact per line::

    {"id": "1", "email": "a@b.com", "fields": {"job_title": "CEO"},
     "events": [{"type": "page_view", "at": "2026-10-01T12:00:00Z", "url": "https://x/contact"}]}

Event keys: ``type``, ``at`` (ISO 8601), optional ``id``, ``url``, ``email_id``, ``name``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from connector.errors import ConfigError
from connector.models import Contact, Event, utc


def read_contacts(path: str | Path) -> Iterator[tuple[Contact, list[Event]]]:
    """Yield (contact, events) per line; a bad line is a ConfigError naming file and line."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(p), fix="check the path") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield _parse(json.loads(line))
        except (json.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"line {number}: {exc}", file=str(p),
                              fix="one JSON object per line with 'id' and 'events' "
                                  "(see config/sample/README.md)") from None


def _parse(raw: Any) -> tuple[Contact, list[Event]]:
    if not isinstance(raw, dict):
        raise ValueError("expected a JSON object")
    if "id" not in raw:
        raise ValueError("missing 'id'")
    cid = str(raw["id"])
    fields = dict(raw.get("fields") or {})
    email = raw.get("email") or fields.get("email")
    if email:
        fields.setdefault("email", email)
    created = raw.get("created_at")
    contact = Contact(id=cid, email=email, fields=fields,
                      created_at=_time(created) if created else None)
    events = []
    for i, item in enumerate(raw.get("events") or []):
        if not isinstance(item, dict) or "type" not in item or "at" not in item:
            raise ValueError(f"event {i + 1} needs 'type' and 'at'")
        events.append(Event(id=str(item.get("id") or f"{cid}-{i}"), contact_id=cid,
                            type=str(item["type"]), occurred_at=_time(item["at"]),
                            url=item.get("url"), email_id=item.get("email_id"),
                            name=item.get("name")))
    return contact, events


def _time(value: str) -> datetime:
    return utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
