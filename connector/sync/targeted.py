"""One targeted sync of a client's dirty contacts (those webhooks marked): what `connector
serve` runs in process and what a worker runs for `connector serve --queue` (README,
"Webhooks").

The marks stay in the state store until the sync that consumed them recorded its contacts
(``run_sync`` clears them then), so a process killed during the sync leaves them to the next
one. The client's lease keeps the sync single-run, as for scheduled syncs; a client file
with ``dry_run: true`` gets a dry run here too (``entrance.sync_client``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Unpack

from connector.clock import Clock, SystemClock
from connector.config import ClientConfig, Settings
from connector.store.base import Store
from connector.sync.entrance import SyncOptions, sync_client
from connector.sync.report import SyncReport


@dataclass
class TargetedRun:
    report: SyncReport
    contacts: int
    calls: int  # CRM API calls of the sync
    rate_limited: int  # of which answered 429
    lag: float | None  # seconds from the first mark to the end of the sync


def sync_dirty(cfg: ClientConfig, settings: Settings, store: Store,
               dirty: Mapping[str, datetime], *,
               clock: Clock | None = None,
               **options: Unpack[SyncOptions]) -> TargetedRun:
    """Sync ``dirty`` (contact id -> first marked at) of ``cfg``'s client; ``options``:
    ``stop`` and ``env`` as for ``sync_client``. Raises LeaseHeld when a live run holds the
    client (its marks stay)."""
    from connector.sync.runtime import make_crm

    crm = make_crm(cfg, env=options.get("env"))
    run: SyncOptions = {**options, "contact_ids": sorted(dirty), "crm": crm}
    report = sync_client(cfg, settings, store, **run)
    stats = getattr(crm, "http_stats", None)
    calls = sum(stats.calls.values()) if stats is not None else 0
    limited = sum(getattr(stats, "rate_limited", {}).values()) if stats else 0
    now = (clock or SystemClock()).now()
    lag = (now - min(dirty.values())).total_seconds() if dirty else None
    return TargetedRun(report, len(dirty), calls, limited, lag)
