"""Prometheus metrics of ``connector serve`` (``GET /metrics``).

Counters move as the server's own syncs finish (with ``--queue`` the workers run them: the
server counts the targeted syncs it queued, and the workers log each one's lag); the outbox
states are read from the state store at each scrape, so they also show what the scheduled
poll or workers did.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from connector.store.base import Store
from connector.sync.report import SyncReport

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LAG_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


class _OutboxCollector(Collector):
    def __init__(self, store: Store, clients: Callable[[], Iterable[str]]) -> None:
        self.store = store
        self.clients = clients

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("connector_outbox_entries",
                                   "Actions in the outbox by client, kind and state",
                                   labels=["client", "kind", "status"])
        invites = GaugeMetricFamily("connector_invites_sent",
                                    "Invites sent (outbox entries in state sent)",
                                    labels=["client"])
        for client in self.clients():
            tally = Tally((e.kind, e.status) for e in self.store.outbox(client))
            for (kind, status), n in sorted(tally.items()):
                family.add_metric([client, kind, status], n)
            invites.add_metric([client], tally[("invite", "sent")])
        yield family
        yield invites


class Metrics:
    """The server's registry (its own, so tests and several apps do not collide)."""

    def __init__(self, store: Store, clients: Callable[[], Iterable[str]]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.syncs = Counter("connector_syncs", "Syncs run by this server",
                             ["client", "kind", "status"], registry=r)
        self.calls = Counter("connector_crm_calls", "CRM API calls of this server's syncs",
                             ["client"], registry=r)
        self.rate_limited = Counter("connector_crm_rate_limited",
                                    "CRM answers 429 (rate limited) to this server's syncs",
                                    ["client"], registry=r)
        self.webhooks = Counter("connector_webhooks", "Webhook requests by outcome",
                                ["client", "crm", "outcome"], registry=r)
        self.queued = Counter("connector_targeted_syncs_queued",
                              "Targeted syncs put on the queue for the workers (--queue)",
                              ["client"], registry=r)
        self.marked = Counter("connector_contacts_marked_dirty",
                              "Contacts marked dirty by webhooks", ["client"], registry=r)
        self.lag = Histogram("connector_webhook_lag_seconds",
                             "From a contact's first dirty mark to the end of its sync",
                             ["client"], buckets=LAG_BUCKETS, registry=r)
        self.last_lag = Gauge("connector_webhook_last_lag_seconds",
                              "Lag of the client's last targeted sync", ["client"], registry=r)
        r.register(_OutboxCollector(store, clients))

    def record_sync(self, client: str, report: SyncReport, calls: int, rate_limited: int,
                    lag: float | None) -> None:
        self.syncs.labels(client, report.kind, report.status).inc()
        self.calls.labels(client).inc(calls)
        self.rate_limited.labels(client).inc(rate_limited)
        if lag is not None:
            self.lag.labels(client).observe(lag)
            self.last_lag.labels(client).set(lag)

    def render(self) -> bytes:
        return generate_latest(self.registry)
