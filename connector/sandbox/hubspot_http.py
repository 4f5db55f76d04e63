"""HubSpot's wire conventions, shared by the HubSpot sandbox's route modules (contacts in
hubspot.py, companies in hubspot_companies.py, associations in hubspot_associations.py):
timestamps, the error and JSON answers, request parsing, and one object type's property
schema with the checks a write of a property value goes through."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from connector.errors import ConnectorError


class Invalid(ConnectorError, ValueError):
    """Input a route refuses; answered as HubSpot's 400 VALIDATION_ERROR."""


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def error(status: int, message: str, category: str, **extra: Any) -> Response:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category, **extra}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def json_body(request: Request) -> dict[str, Any]:
    """The JSON object a POST or PATCH carries; anything else is a 400."""
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    return body


def page_size(raw: str | None, default: int, cap: int) -> int:
    """A page size: a positive integer, capped as HubSpot caps it."""
    value = default if raw in (None, "") else int(str(raw))
    if value < 1:
        raise Invalid("limit must be at least 1")
    return min(value, cap)


def wanted(raw: list[str]) -> list[str]:
    """Names given as repeated and/or comma-separated query values."""
    out: list[str] = []
    for item in raw:
        out.extend(p for p in str(item).split(",") if p)
    return out


SEARCH_CAP = 10_000  # a search returns at most 10,000 results: asking past them is a 400


def search_page(body: dict[str, Any]) -> tuple[int, int, list[dict[str, Any]]] | Response:
    """A search request's (limit, after, filterGroups), or HubSpot's 400 for one it
    refuses: limit over 200, a page past the 10,000-result cap, more than 5 filter groups
    or more than 6 filters in one (the CRM search guide's limits)."""
    limit = int(body.get("limit", 10))
    after = int(body.get("after") or 0)
    if limit < 0 or after < 0:
        raise Invalid("limit and after must not be negative")
    if limit > 200:
        return error(400, "limit must be at most 200", "VALIDATION_ERROR")
    if after + limit > SEARCH_CAP:
        return error(400, "There was a problem with the request.", "VALIDATION_ERROR")
    groups = body.get("filterGroups") or []
    if len(groups) > 5 or any(len(g.get("filters", [])) > 6 for g in groups):
        return error(400, "too many filters", "VALIDATION_ERROR")
    return limit, after, groups


def parse_datetime(value: Any) -> datetime | None:
    """A datetime property's value: epoch milliseconds or ISO 8601 ("How should timestamps
    be formatted for HubSpot's APIs?", developers.hubspot.com/docs/faq)."""
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


_FIELD_TYPE = {"string": "text", "number": "number", "datetime": "date",
               "enumeration": "select"}


def hubspot_defined(name: str, label: str, kind: str, group: str, *, calculated: bool,
                    unique: bool) -> dict[str, Any]:
    """One of HubSpot's default properties as GET /crm/v3/properties/{objectType} lists
    it (the shape of tests/corpus/hubspot/properties_contacts_engagement.json): a
    calculated one's value is read-only and on no form."""
    return {"name": name, "label": label, "type": kind, "fieldType": _FIELD_TYPE[kind],
            "description": "", "groupName": group, "options": [], "displayOrder": -1,
            "calculated": calculated, "externalOptions": False, "hasUniqueValue": unique,
            "hidden": False, "hubspotDefined": True, "formField": not calculated,
            "createdAt": "2019-08-06T02:41:08.029Z", "updatedAt": "2025-03-12T15:04:55.611Z",
            "archived": False, "modificationMetadata": {
                "archivable": False, "readOnlyDefinition": True, "readOnlyValue": calculated}}


@dataclass
class ObjectSchema:
    """One object type's properties as ``/crm/v3/properties/{objectType}`` serves them:
    HubSpot's default properties (``defaults``, whose names are ``builtin``; of them
    ``read_only`` refuse writes), the portal's own ``properties`` and its property
    ``groups``."""

    kind: str  # "contacts", "companies": the object type in paths and scopes
    defaults: Callable[[], list[dict[str, Any]]]
    builtin: frozenset[str]
    read_only: frozenset[str]
    groups: dict[str, dict[str, Any]]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)

    def invalid(self, name: str, value: Any) -> str | None:
        """Why HubSpot would refuse writing ``value`` to ``name`` (its whole batch is a
        400 VALIDATION_ERROR then), or None."""
        if name in self.builtin:
            return f"{name} is read-only" if name in self.read_only else None
        prop = self.properties.get(name)
        if prop is None:
            return f"Property \"{name}\" does not exist"
        if prop["type"] == "number" and value not in ("", None):
            try:
                float(str(value))
            except ValueError:
                return f"{value!r} was not a valid number for {name}"
        if prop["type"] == "datetime" and value not in ("", None) \
                and parse_datetime(value) is None:
            return f"{value!r} was not a valid datetime for {name}"
        return None

    def stored(self, name: str, value: Any) -> str | None:
        """What a written value reads back as: "" clears; datetimes come back as ISO in
        UTC."""
        if value in ("", None):
            return None
        prop = self.properties.get(name)
        if prop is not None and prop["type"] == "datetime":
            when = parse_datetime(value)
            return iso(when) if when is not None else str(value)
        return str(value)
