"""The error tree, named by what the caller can do.

Every exception class of connector is in it. Most are defined here; the ones defined
beside the code that raises them name their module (in brackets)::

    ConnectorError
    ├── ConfigError(ValueError)          fix the input: rules file, client file, settings
    │   ├── RulesError                   a rules file is invalid (file, rule id, field, fix)
    │   │   └── Misplaced                [scoring.rules_errors] a whole-model check failed
    │   │                                at one place; becomes a RulesError naming its line
    │   └── ClientConfigError            a client file or setting is invalid
    ├── CRMError                         something went wrong talking to a CRM
    │   ├── RetryLater                   transient: the same call may succeed later
    │   │   ├── RateLimited              429 (wait as told, then retry)
    │   │   ├── ServerError              5xx
    │   │   └── NetworkError             timeout, connection reset, malformed body
    │   ├── FixConfiguration             the client's setup must change before a retry helps
    │   │   ├── AuthError                401 / 403: check the token
    │   │   └── NotFoundError            404 on something the configuration names
    │   └── SkipRecord                   this record is bad; skip it, report it, go on
    ├── MailError                        the SMTP server did not (surely) take a message
    │   ├── NotSent                      [actions.mail] refused, timeout before DATA, 4xx:
    │   │                                pending, retried with back-off
    │   ├── Rejected                     [actions.mail] 5xx: failed, with the server's reason
    │   └── SendUncertain                [actions.mail] lost after the message was handed
    │                                    over: unknown, a person settles it
    ├── StateError                       the state store is unreachable or inconsistent
    ├── LeaseHeld                        another run holds this client's lease
    ├── Rejected                         [web.signatures] a webhook not from the CRM (bad
    │                                    or stale signature, wrong path secret): 401 / 404
    ├── Invalid(ValueError)              [sandbox.hubspot_http, sandbox.ac_http] a fake
    │                                    CRM refuses a request's input: its 400 (tests, demo)
    └── PortInUse(OSError)               [sandbox.local] a sandbox server cannot listen on
                                         its port: give another one (tests, demo)

    Stopped                              [stopping] not an error: a stop was asked for
                                         (SIGTERM, Ctrl-C, a lost lease); the sync catches
                                         it by name and ends "interrupted"

``Stopped`` is deliberately outside ``ConnectorError``: the catch-alls for errors (the
CLI's one-line errors, the queue worker, the webhook server's health check, the sync's
record of a failed run) must never turn a stop into "failed".

Every CRM error names the CRM, the client, the endpoint and the fix, never the token.
"""
from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""


class ConfigError(ConnectorError, ValueError):
    """Invalid input. The message names the file, the field and the fix."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 fix: str | None = None) -> None:
        self.file = file
        self.field = field
        self.fix = fix
        parts = [p for p in (file, field) if p]
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if fix:
            text = f"{text} (fix: {fix})"
        super().__init__(text)


class RulesError(ConfigError):
    """A rules file is invalid."""


class ClientConfigError(ConfigError):
    """A client configuration file or a setting is invalid."""


class CRMError(ConnectorError):
    """An error talking to a CRM. ``status`` is the HTTP status when there was one."""

    default_fix = "see the message"

    def __init__(self, message: str, *, crm: str, client: str, endpoint: str,
                 status: int | None = None, fix: str | None = None,
                 record_id: str | None = None) -> None:
        self.crm = crm
        self.client = client
        self.endpoint = endpoint
        self.status = status
        self.fix = fix or self.default_fix
        self.record_id = record_id
        self.detail = message
        status_text = f" (HTTP {status})" if status is not None else ""
        super().__init__(
            f"{crm} client {client!r}: {endpoint}{status_text}: {message}; fix: {self.fix}"
        )


class RetryLater(CRMError):
    default_fix = "transient; the connector retries, and the next sync picks it up"


class RateLimited(RetryLater):
    default_fix = "wait for the rate-limit window; lower the client's request rate if it persists"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(RetryLater):
    default_fix = "the CRM is failing; the next sync retries"


class NetworkError(RetryLater):
    default_fix = "check the network and the CRM base URL; the next sync retries"


class FixConfiguration(CRMError):
    default_fix = "correct the client's configuration"


class AuthError(FixConfiguration):
    def __init__(self, message: str, **kw) -> None:
        kw.setdefault("fix", f"check the token for client {kw.get('client')!r}")
        super().__init__(message, **kw)


class NotFoundError(FixConfiguration):
    default_fix = "check the base URL and the names in the client's configuration"


class SkipRecord(CRMError):
    default_fix = "the record is skipped and listed in `connector status`; correct it in the CRM"


class MailError(ConnectorError):
    """The SMTP server did not take a message, or may not have (``connector.actions.mail``
    says which by subclass)."""


class StateError(ConnectorError):
    """The state store failed (unreachable database, failed migration)."""


class LeaseHeld(ConnectorError):
    """Another run holds the client's lease."""

    def __init__(self, client: str, holder: str, until: str) -> None:
        self.client = client
        self.holder = holder
        super().__init__(
            f"client {client!r} is being synced by {holder}, which renews its lease while "
            f"it runs; wait for it to finish (if that process is gone, the lease frees "
            f"itself at {until})"
        )
