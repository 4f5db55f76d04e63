"""The one way a sync is run from configuration: `connector sync`, `connector resync`,
`connector run`, the queue worker and the webhook server's targeted syncs all call
``sync_client``, so they agree on the client file's ``dry_run``, the lease and the
adapter's lifetime."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypedDict, Unpack

from connector import logs
from connector.config import ClientConfig, Settings
from connector.crm.base import CRM
from connector.store.base import Store
from connector.sync.job import Progress
from connector.sync.report import SyncReport
from connector.sync.run import run_sync
from connector.sync.runtime import client_runtime


class SyncOptions(TypedDict, total=False):
    """How ``sync_client`` runs (all optional)."""

    full: bool  # a resync: every contact and all engagement again
    contact_ids: Sequence[str] | None  # a targeted sync of just these contacts
    dry_run: bool  # nothing written, saved or sent (also the client file's ``dry_run``)
    progress: Progress | None  # called with (stage, contacts) as batches finish
    ready: Callable[[], None] | None  # called once the job is built, just before the run
    stop: threading.Event | None  # set to stop between requests: what finished is saved
    env: Mapping[str, str] | None  # where the secrets are read (default: the environment)
    crm: CRM | None  # an adapter already built (closed at the end all the same)


def sync_client(client: ClientConfig, settings: Settings, store: Store,
                **options: Unpack[SyncOptions]) -> SyncReport:
    """One sync of ``client``: its job built (adapter, rules, actions), run under the
    client's lease, the adapter closed on the way out, also when the sync raised. A dry run
    when asked for or when the client file says ``dry_run: true``. Raises LeaseHeld when a
    live run holds the client."""
    with client_runtime(client, settings, store, env=options.get("env"),
                        crm=options.get("crm")) as job, logs.context(client.name):
        if (stop := options.get("stop")) is not None:
            job.stop = stop
        if (ready := options.get("ready")) is not None:
            ready()
        return run_sync(job, full=options.get("full", False),
                        dry_run=options.get("dry_run", False) or client.dry_run,
                        progress=options.get("progress"),
                        contact_ids=options.get("contact_ids"))
