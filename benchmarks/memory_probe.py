"""Peak memory of one full sync of N contacts streamed from a CRM: ``python -m
benchmarks.memory_probe N`` prints the peak RSS in MB.

The CRM here is an in-process stream over the seeded population (no HTTP), so what is
measured is the connector itself: pull, score, state store (SQLite), write-back.
"""

from __future__ import annotations

import resource
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

from benchmarks.__main__ import _client
from connector.config import Settings
from connector.crm.base import PullNotes, ScoreProperty, WriteReport
from connector.models import Contact, Event
from connector.sandbox.population import Population
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job


class StreamCRM:
    kind = "stream"
    capabilities: frozenset[str] = frozenset()  # the probe's client has its actions off
    incremental_ordered = False
    engaged = None

    def __init__(self, population: Population) -> None:
        self.population = population
        self.notes = PullNotes()
        self.recent: dict[str, tuple[Event, ...]] = {}

    def iter_contacts(self, since: datetime | None, until: datetime) -> Iterator[Contact]:
        for i in range(len(self.population)):
            person = self.population.person(i)
            if len(self.recent) >= 1000:  # the sync asks for a batch's events right after
                self.recent.clear()
            self.recent[person.contact.id] = person.events
            yield person.contact

    def fetch_events(self, contacts: Sequence[Contact],
                     since: datetime | None) -> Mapping[str, list[Event]]:
        offset = self.population.id_offset
        return {c.id: list(self.recent.get(c.id)
                           or self.population.person(int(c.id) - offset).events)
                for c in contacts}

    def ensure_score_property(self, prop: ScoreProperty) -> None:
        return None

    def write_scores(self, scores: Mapping[str, int]) -> WriteReport:
        return WriteReport(written=list(scores), calls=-(-len(scores) // 100))

    def get_owner(self, contact: Contact) -> None:
        return None

    def retried(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        return None


def main() -> None:
    n = int(sys.argv[1])
    state = f"sqlite:///{tempfile.mkdtemp(prefix='mem-')}/state.db"
    store = open_store(state)
    crm = StreamCRM(Population(n, seed=3))
    job = make_job(_client("mem", "hubspot", "http://unused"), Settings(state_url=state),
                   store, crm=crm, env={"BENCH_TOKEN": "x"})
    report = run_sync(job, full=True)
    assert report.counts["scored"] == n, report.counts
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{datetime.now(UTC).isoformat()} {n} contacts")
    print(peak_kb / 1024)


if __name__ == "__main__":
    main()
