"""ActiveCampaign's wire conventions, shared by the ActiveCampaign sandbox's route modules
(contacts in activecampaign.py, accounts in ac_accounts.py, their custom fields in
ac_account_fields.py): the account's local time, JSON answers and AC's error shapes,
request parsing and limit/offset paging."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

from connector.errors import ConnectorError

TZ = ZoneInfo("America/Chicago")


class Invalid(ConnectorError, ValueError):
    """Input a route refuses; answered as AC's 400."""


def local(dt: datetime) -> str:
    return dt.astimezone(TZ).isoformat(timespec="seconds")


def answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def errors(status: int, title: str, detail: str, code: str) -> Response:
    return answer({"errors": [{"title": title, "detail": detail, "code": code}]}, status)


def object_body(request: Request, key: str) -> dict[str, Any]:
    """The object under ``key`` in a JSON body (``{"contact": {...}}``); {} when absent,
    a 400 when the body or the object is of another shape."""
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get(key) or {}, dict):
        raise Invalid(f"the body must be a JSON object with an object {key!r}")
    return body.get(key) or {}


def limits(args: Any, default: int) -> tuple[int, int]:
    """``limit`` (1 to 100, ``default`` when absent) and ``offset`` (0 or more)."""
    limit = int(args.get("limit") or default)
    offset = int(args.get("offset") or 0)
    if limit < 1 or offset < 0:
        raise Invalid("limit must be at least 1 and offset at least 0")
    return min(limit, 100), offset


def page(request: Request, rows: list[Any], *, default: int) -> tuple[list[Any],
                                                                      dict[str, Any]]:
    """One page of ``rows`` by ``limit`` (at most 100) and ``offset``, with its meta."""
    limit, offset = limits(request.args, default)
    return rows[offset:offset + limit], {"total": str(len(rows))}
