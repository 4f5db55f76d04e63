"""Contract harness: the ActiveCampaign adapter (requests, over HTTP) against its sandbox."""

from __future__ import annotations

from connector.crm.activecampaign import ActiveCampaignCRM
from connector.models import Event
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.population import Population
from connector.sandbox.server import Server

NAME = "activecampaign"
TOKEN = "ac-contract-token-0000"


class ACHarness:
    def __init__(self, population: Population, clock: FakeClock) -> None:
        self.clock = clock
        self.app = ACSandbox()
        self.account = self.app.add_account(TOKEN, ACAccount(
            "contract", population, clock=clock, requests_per_second=100_000))
        self.server = Server(self.app)
        self.crm = ActiveCampaignCRM("contract", TOKEN, self.server.url, clock=clock,
                                     requests_per_second=100_000)

    def add_event(self, event: Event) -> None:
        self.account.add_event(event)

    def score_of(self, contact_id: str) -> int | None:
        value = self.account.value_of(contact_id, self.crm.score_tag)
        return int(value) if value not in (None, "") else None

    def unsubscribed(self, contact_id: str) -> bool:
        return any(cid == int(contact_id) and status == 2
                   for (cid, _), status in self.account.contact_lists.items())

    def tasks_for(self, contact_id: str) -> list:
        return [t for t in self.account.tasks if t["relid"] == contact_id]

    def close(self) -> None:
        self.crm.close()
        self.server.stop()


def make(population: Population, clock: FakeClock) -> ACHarness:
    return ACHarness(population, clock)
