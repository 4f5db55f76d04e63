"""Turn validated configuration into running parts: the CRM adapter, the store, a SyncJob.

Adapters register themselves by ``crm.kind`` (``connector.crm.registry``); this is the only
place (besides config) that reads secrets from the environment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypedDict, Unpack

from connector import logs
from connector.actions.context import ActionContext
from connector.clock import Clock, SystemClock
from connector.config import ClientConfig, Settings
from connector.crm import registry
from connector.crm.base import CRM, ScoreProperty
from connector.crm.spool import TakesSpool
from connector.scoring import load_rules
from connector.store.base import Store
from connector.store.spool import activity_spool
from connector.sync.job import SyncJob


def make_crm(client: ClientConfig, *, env: Mapping[str, str] | None = None,
             clock: Clock | None = None) -> CRM:
    """The adapter registered for ``client.crm.kind``, authenticated with the token from the
    environment. A client asking for an action the adapter lacks is refused first."""
    adapter = registry.adapter_for(client.crm.kind)
    registry.check_capabilities(client, client.crm.kind, adapter.capabilities)
    token = client.token(env)
    logs.register_secrets([token])
    return adapter.from_config(client, token, clock=clock or SystemClock())


class Parts(TypedDict, total=False):
    """What a job may be built with instead of the defaults (all optional)."""

    env: Mapping[str, str] | None  # where secrets are read (default: the environment)
    clock: Clock | None  # time and waiting (default: the system's)
    crm: CRM | None  # an adapter already built (default: built from the client file)


def make_job(client: ClientConfig, settings: Settings, store: Store,
             **parts: Unpack[Parts]) -> SyncJob:
    """A ready-to-run SyncJob for one client. Its adapter is the caller's to close: use
    ``client_runtime`` unless you manage the adapter yourself."""
    env, clock = parts.get("env"), parts.get("clock") or SystemClock()
    model = load_rules(client.rules)
    adapter = parts.get("crm") or make_crm(client, env=env, clock=clock)
    registry.check_capabilities(client, adapter.kind, adapter.capabilities)
    if isinstance(adapter, TakesSpool) and (spool := activity_spool(store, client.name)):
        adapter.use_spool(spool)  # the account's activity stream waits in state, not memory
    smtp_password = client.smtp_password(env)
    logs.register_secrets([smtp_password])
    actions = ActionContext(client=client, crm=adapter, smtp_password=smtp_password)
    prop = ScoreProperty(name=client.score_property.name, label=client.score_property.label,
                         group=client.score_property.group)
    return SyncJob(client=client.name, config=client, crm=adapter, store=store, model=model,
                   score_property=prop, actions=actions, clock=clock,
                   lease_seconds=settings.lease_seconds,
                   model_text=Path(client.rules).read_text(encoding="utf-8"),
                   model_source=str(client.rules), trust_dirty=client.webhooks.enabled)


@contextlib.contextmanager
def client_runtime(client: ClientConfig, settings: Settings, store: Store,
                   **parts: Unpack[Parts]) -> Iterator[SyncJob]:
    """One client's run, owned from start to end: builds the adapter (or takes ``crm``),
    yields the ready SyncJob, and always closes the adapter's sessions and pools on the way
    out, also when the sync raised. Closing is idempotent and a closed adapter reconnects on
    its next call, so an adapter passed in as ``crm`` may be used again.

    Usage (``entrance.sync_client`` does this)::

        with client_runtime(client, settings, store) as job:
            report = run_sync(job)
    """
    adapter = parts.get("crm") or make_crm(client, env=parts.get("env"),
                                           clock=parts.get("clock"))
    try:
        built: Parts = {**parts, "crm": adapter}
        yield make_job(client, settings, store, **built)
    finally:
        adapter.close()
