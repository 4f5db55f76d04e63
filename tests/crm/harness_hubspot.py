"""Contract harness: the HubSpot adapter (real SDK, over HTTP) against the HubSpot sandbox."""

from __future__ import annotations

from connector.crm.hubspot import HubSpotCRM
from connector.models import Event
from connector.sandbox.clock import FakeClock
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server

NAME = "hubspot"
TOKEN = "pat-na1-contract-0000"


class HubSpotHarness:
    def __init__(self, population: Population, clock: FakeClock) -> None:
        self.clock = clock
        self.app = HubSpotSandbox()
        self.account = self.app.add_account(TOKEN, HubSpotAccount(
            "contract", population, plan="enterprise", clock=clock,
            ten_second_limit=100_000, search_per_second=100_000))
        self.server = Server(self.app)
        self.crm = HubSpotCRM("contract", TOKEN, self.server.url, plan="enterprise",
                              clock=clock,
                              requests_per_10s=100_000, search_per_second=100_000)

    def add_event(self, event: Event) -> None:
        self.account.add_event(event)

    def score_of(self, contact_id: str) -> int | None:
        value = self.account.score_of(contact_id, self.crm.score_property)
        return int(float(value)) if value not in (None, "") else None

    def unsubscribed(self, contact_id: str) -> bool:
        email = self.account.contacts[contact_id]["props"]["email"].lower()
        return bool(self.account.unsubscribed.get(email))

    def tasks_for(self, contact_id: str) -> list:
        return [t for t in self.account.tasks
                if any(a["to"]["id"] == contact_id for a in t["associations"])]

    def close(self) -> None:
        self.crm.close()
        self.server.stop()


def make(population: Population, clock: FakeClock) -> HubSpotHarness:
    return HubSpotHarness(population, clock)
