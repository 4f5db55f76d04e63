"""``connector doctor``: check every vendor assumption against the live account.

Read-only: a few GETs (and HubSpot's token-info POST, which reads), at most ``MAX_CALLS``
CRM requests, no write, no mail (the SMTP check stops after EHLO, STARTTLS and AUTH).
One :class:`Row` per check: what was checked, what was seen, what connector will do about
it, and the fix. docs/vendor-assumptions.md lists the assumptions each row checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.config import ClientConfig
    from connector.store.base import Store

MAX_CALLS = 30
OK, FALLBACK, FAIL = "ok", "fallback", "fail"


@dataclass(frozen=True)
class Row:
    """One check. ``status``: ``ok`` (the assumption holds), ``fallback`` (it does not;
    connector reads less or does it another way, ``action`` says how) or ``fail``
    (connector will fail or lose something until the ``fix`` is made)."""

    check: str
    status: str
    seen: str
    action: str
    fix: str = ""

    @property
    def holds(self) -> bool:
        return self.status == OK

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def examine(client: ClientConfig, store: Store | None = None,
            env: Mapping[str, str] | None = None) -> list[Row]:
    """Every check for ``client``: its CRM's (through the adapter's HTTP layer), what was
    kept in state against what is found now, and SMTP."""
    from connector import logs
    from connector.crm.detected import Detected
    from connector.doctor.common import kept_row, limits_rows
    from connector.doctor.smtp import smtp_row
    from connector.sync.runtime import make_crm

    crm: Any = make_crm(client, env=env)
    try:
        if crm.kind == "hubspot":
            from connector.doctor.hubspot import hubspot_rows
            detected, rows = hubspot_rows(crm, client)
        else:
            from connector.doctor.activecampaign import activecampaign_rows
            detected, rows = activecampaign_rows(crm, client)
        kept = store.get_capabilities(client.name) if store is not None else None
        rows.append(kept_row(Detected.from_dict(kept) if kept else None, detected,
                             client.name))
        rows.extend(limits_rows(crm))
    finally:
        crm.close()
    password = client.smtp_password(env)
    logs.register_secrets([password])
    rows.append(smtp_row(client, password))
    return rows


def exit_code(rows: list[Row]) -> int:
    """0 when every check holds, 1 otherwise."""
    return 0 if all(r.holds for r in rows) else 1
