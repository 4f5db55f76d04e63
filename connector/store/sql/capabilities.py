"""What was detected of the client's CRM account (``connector/crm/detected.py``), and
what changed since the detection before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from connector.store import tables as t
from connector.store.sql.engine import Database


class CapabilityRows(Database):
    """The last capability detection of each client."""

    def get_capabilities(self, client: str) -> dict[str, Any] | None:
        """The last detection (``Detected.as_dict()``) with ``changes`` / ``changed_at``
        of the last one that changed something; None before the first."""
        with self._conn() as conn:
            row = conn.execute(select(t.capabilities).where(
                t.capabilities.c.client == client)).first()
        if row is None:
            return None
        m = row._mapping
        return {"kind": m["kind"], "found": m["found"] or {},
                "checked_at": m["checked_at"].isoformat(), "changes": m["changes"] or [],
                "changed_at": m["changed_at"].isoformat() if m["changed_at"] else None}

    def save_capabilities(self, client: str, detected: Mapping[str, Any],
                          changes: Sequence[str]) -> None:
        """Keep a detection; ``changes`` (what differs from the one before) are kept until
        a later detection changes something again."""
        checked = datetime.fromisoformat(detected["checked_at"]) \
            if isinstance(detected.get("checked_at"), str) else datetime.now(UTC)
        values: dict[str, Any] = {"kind": detected["kind"], "found": dict(detected["found"]),
                                  "checked_at": checked}
        if changes:
            values.update(changes=list(changes), changed_at=checked)
        with self._conn() as conn:
            stmt = self.upsert(t.capabilities).values(client=client, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["client"], set_=values))
