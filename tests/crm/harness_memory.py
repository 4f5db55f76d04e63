"""Contract harness: the in-memory reference CRM."""

from __future__ import annotations

from connector.models import Event
from connector.sandbox.clock import FakeClock
from connector.sandbox.memory_crm import MemoryCRM
from connector.sandbox.population import Population

NAME = "memory"


class MemoryHarness:
    def __init__(self, population: Population, clock: FakeClock) -> None:
        self.population = population
        self.clock = clock
        self.crm = MemoryCRM(clock=clock)
        people = list(population)
        self.crm.load([p.contact for p in people], [e for p in people for e in p.events],
                      population.owners)

    def add_event(self, event: Event) -> None:
        self.crm.add_event(event)

    def score_of(self, contact_id: str) -> int | None:
        return self.crm.account.contacts[contact_id].score_in_crm

    def unsubscribed(self, contact_id: str) -> bool:
        return contact_id in self.crm.account.unsubscribed

    def tasks_for(self, contact_id: str) -> list:
        return [t for t in self.crm.account.tasks if t.contact_id == contact_id]

    def close(self) -> None:
        self.crm.close()


def make(population: Population, clock: FakeClock) -> MemoryHarness:
    return MemoryHarness(population, clock)
