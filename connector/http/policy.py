"""HTTP status to behaviour, as a table, and the response-to-error mapping.

=====  ==============================  ======================================
status behaviour                       error raised when it is final
=====  ==============================  ======================================
429    wait (Retry-After or window)     RateLimited (retried)
5xx    back off with jitter, retry      ServerError (retried)
401    stop: the token is wrong         AuthError ("check the token for ...")
403    stop: token or plan lacks scope  AuthError
404    report: missing thing            NotFoundError
400    report the record                SkipRecord
409    report (callers may tolerate)    SkipRecord
422    report the record                SkipRecord
=====  ==============================  ======================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from html.parser import HTMLParser
from typing import Any

from connector.errors import (
    AuthError,
    CRMError,
    NetworkError,
    NotFoundError,
    RateLimited,
    ServerError,
    SkipRecord,
)


class Behaviour(Enum):
    OK = "ok"
    WAIT = "wait"
    RETRY = "retry"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    REPORT = "report"


STATUS_TABLE: Mapping[int, Behaviour] = {
    429: Behaviour.WAIT,
    500: Behaviour.RETRY,
    502: Behaviour.RETRY,
    503: Behaviour.RETRY,
    504: Behaviour.RETRY,
    401: Behaviour.AUTH,
    403: Behaviour.AUTH,
    404: Behaviour.NOT_FOUND,
    400: Behaviour.REPORT,
    409: Behaviour.REPORT,
    422: Behaviour.REPORT,
}


def behaviour_for(status: int) -> Behaviour:
    if status < 400:
        return Behaviour.OK
    if status in STATUS_TABLE:
        return STATUS_TABLE[status]
    return Behaviour.RETRY if status >= 500 else Behaviour.REPORT


@dataclass(frozen=True)
class RawResponse:
    """A response as the layer sees it; header names are lower-case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> object:
        return json.loads(self.body) if self.body else None


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def message_of(body: bytes) -> str:
    """The human part of an error body, whichever CRM's shape it has: a JSON error's
    message, an HTML page's title (a proxy's or load balancer's error page), or the first
    line of plain text; never a whole page."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return _text_summary(body.decode("utf-8", "replace"))
    if isinstance(data, dict):
        if isinstance(data.get("message"), str):
            return data["message"]
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0]
            if isinstance(first, dict):
                return str(first.get("detail") or first.get("title") or first.get("message")
                           or first)
            return str(first)
        if isinstance(data.get("error"), str):
            return data["error"]
    return str(data)[:200] if data is not None else "no details"


class _Headings(HTMLParser):
    """The text of a page's <title> and first <h1>."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "h1") and tag not in self.found:
            self._in = tag
            self.found[tag] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.found[self._in] += data


def _text_summary(text: str) -> str:
    """One short line for a body that is not JSON."""
    if re.match(r"\s*<", text):
        parser = _Headings()
        parser.feed(text)
        parser.close()
        heading = " ".join((parser.found.get("title") or parser.found.get("h1") or "").split())
        return (f"an HTML error page titled {heading[:120]!r}" if heading
                else "an HTML error page without a title")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (first[:200] + ("..." if len(first) > 200 else "")) or "no details"


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The seconds a 429 asks us to wait. ``Retry-After`` is "either an HTTP-date or a
    number of seconds" (RFC 9110 section 10.2.3): a date counts from ``now`` (the wall
    clock; a date already past is no wait). None when absent or unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's unknown zone; HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for(response: RawResponse, *, crm: str, client: str, endpoint: str,
              secrets: Iterable[str] = (), now: datetime | None = None) -> CRMError | None:
    """The connector error a response means, or None when it is a success."""
    behaviour = behaviour_for(response.status)
    if behaviour is Behaviour.OK:
        return None
    detail = scrub(message_of(response.body), secrets)
    kw: dict[str, Any] = {"crm": crm, "client": client, "endpoint": endpoint,
                          "status": response.status}
    if behaviour is Behaviour.WAIT:
        return RateLimited(detail, retry_after=retry_after(response.headers, now), **kw)
    if behaviour is Behaviour.RETRY:
        return ServerError(detail, **kw)
    if behaviour is Behaviour.AUTH:
        return AuthError(detail, **kw)
    if behaviour is Behaviour.NOT_FOUND:
        return NotFoundError(detail, **kw)
    return SkipRecord(detail, **kw)


def network_error(exc: BaseException, *, crm: str, client: str, endpoint: str,
                  secrets: Iterable[str] = ()) -> NetworkError:
    text = scrub(f"{type(exc).__name__}: {exc}", secrets)
    return NetworkError(text[:300], crm=crm, client=client, endpoint=endpoint)
