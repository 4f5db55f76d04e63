"""A client against a sandbox with faults, for the reliability suite."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.crm.activecampaign import ActiveCampaignCRM
from connector.crm.hubspot import HubSpotCRM
from connector.errors import ConnectorError
from connector.sandbox.activecampaign import ACAccount
from connector.sandbox.clock import FakeClock
from connector.sandbox.hubspot import HubSpotAccount
from connector.sandbox.population import Population
from connector.scoring import load_rules, score
from connector.sync import SyncJob, run_sync
from connector.sync.runtime import make_job

from ..e2e.helpers import RULES, client_config, settings

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
_ids = itertools.count(1)
MODEL = load_rules(RULES)


@dataclass
class World:
    kind: str
    name: str
    token: str
    account: Any
    crm: Any
    job: SyncJob
    clock: FakeClock
    population: Population

    def crm_score(self, contact_id: str) -> int | None:
        if self.kind == "hubspot":
            raw = self.account.score_of(contact_id, "connector_lead_score")
        else:
            raw = self.account.value_of(contact_id, "CONNECTOR_LEAD_SCORE")
        return int(float(raw)) if raw not in (None, "") else None

    def expected(self, now: datetime) -> dict[str, Any]:
        return {p.contact.id: score(p.contact, p.events, MODEL, now) for p in self.population}

    def sync_until_ok(self, attempts: int = 25) -> list[Any]:
        """Re-run the sync, as the scheduler would, until a run reports success."""
        reports = []
        for _ in range(attempts):
            try:
                report = run_sync(self.job)
                reports.append(report)
                if report.status == "ok" and not self.job.store.failed_writes(self.name):
                    return reports
            except ConnectorError as exc:
                reports.append(exc)
            self.clock.advance(minutes=1)
        raise AssertionError(f"{self.name}: no successful run in {attempts} attempts: "
                             f"{reports[-3:]}")


def build(kind: str, server: Any, app: Any, store: Any, store_url: str, smtp_port: int,
          seed: int, size: int = 12, max_attempts: int = 3) -> World:
    n = next(_ids)
    name = f"{kind[:2]}-{seed}-{n}"
    token = f"secret-token-{kind}-{seed}-{n}"
    clock = FakeClock(START)
    population = Population(size, seed=seed, now=START)
    common = {"clock": clock, "max_attempts": max_attempts}
    if kind == "hubspot":
        account = app.add_account(token, HubSpotAccount(
            name, population, plan="enterprise", clock=clock, ten_second_limit=10**6,
            search_per_second=10**6))
        crm = HubSpotCRM(name, token, server.url, plan="enterprise", requests_per_10s=10**6,
                         search_per_second=10**6, **common)
    else:
        account = app.add_account(token, ACAccount(name, population, clock=clock,
                                                   requests_per_second=10**6))
        crm = ActiveCampaignCRM(name, token, server.url, requests_per_second=10**6,
                                bulk_threshold=5, **common)
    client = client_config(name, kind, server.url, smtp_port)
    job = make_job(client, settings(store_url), store, crm=crm, clock=clock,
                   env={"TEST_TOKEN": token})
    return World(kind, name, token, account, crm, job, clock, population)
