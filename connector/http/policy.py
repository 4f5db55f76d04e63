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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
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
    """The human part of an error body, whichever CRM's shape it has."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip() or "no details"
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


def retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_for(response: RawResponse, *, crm: str, client: str, endpoint: str,
              secrets: Iterable[str] = ()) -> CRMError | None:
    """The connector error a response means, or None when it is a success."""
    behaviour = behaviour_for(response.status)
    if behaviour is Behaviour.OK:
        return None
    detail = scrub(message_of(response.body), secrets)
    kw: dict[str, Any] = {"crm": crm, "client": client, "endpoint": endpoint,
                          "status": response.status}
    if behaviour is Behaviour.WAIT:
        return RateLimited(detail, retry_after=retry_after(response.headers), **kw)
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
