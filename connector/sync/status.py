"""The `connector status` view: per client, its last run, its actions by status, what needs
a person, its skipped records, contacts, capabilities and recent warnings.

A run recorded as "running" whose lease no live holder keeps is shown interrupted (its
process was killed): the store records runs, the lease says which are alive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.store.base import INTERRUPTED_NOTE, Store
from connector.sync.lease import holder_is_dead

WARNINGS_FOR = timedelta(hours=24)  # `connector status` lists the warnings of this long


def status(store: Store, now: datetime | None = None) -> dict[str, Any]:
    """Every client the store knows: ``{"clients": {name: {...}}}``."""
    now = now or datetime.now(UTC)
    return {"clients": {client: client_status(store, client, now)
                        for client in store.clients()}}


def client_status(store: Store, client: str, now: datetime) -> dict[str, Any]:
    runs = store.last_runs(client, 1)
    last = _run_summary(runs[0]) if runs else None
    if last and last["status"] == "running" and not _run_alive(store, client, now):
        last.update(status="interrupted", errors=[INTERRUPTED_NOTE])
    return {
        "last_run": last,
        "actions": store.action_counts(client),
        "unknown": [f"{e.kind} for contact {e.contact_id} (id {e.id}, {e.dedupe_key})"
                    for e in store.outbox(client, ["unknown"])],
        "failed_writes": len(store.failed_writes(client)),
        "skipped": [{"contact_id": r["contact_id"], "reason": r["reason"]}
                    for r in store.skipped(client)],
        "contacts": store.contact_count(client),
        "capabilities": store.get_capabilities(client),
        "warnings": store.recent_warnings(client, now - WARNINGS_FOR),
    }


def _run_alive(store: Store, client: str, now: datetime) -> bool:
    """A run recorded as running is alive only while a live holder keeps its lease."""
    lease = store.lease_holder(client)
    if lease is None:
        return False
    holder, until = lease
    return until >= now and not holder_is_dead(holder)


def _run_summary(run: Mapping[str, Any]) -> dict[str, Any]:
    return {"started_at": run["started_at"].isoformat() if run["started_at"] else None,
            "finished_at": run["finished_at"].isoformat() if run["finished_at"] else None,
            "status": run["status"], "kind": run["kind"], "counts": run["counts"] or {},
            "errors": run["errors"] or []}
