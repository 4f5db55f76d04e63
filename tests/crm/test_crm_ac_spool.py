"""ActiveCampaign's account-wide activity stream waits in the state store, not in memory
(issue 25 item 1): a full resync hands the stream to the store a window of pages at a time
and reads it back one batch of contacts at a time, so what the process holds is bounded by
the batch, not the account; the scores and stored events are those of the stream held in
memory, on SQLite and PostgreSQL; the rows are gone when the run's adapter closes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from connector.config import ClientConfig, Settings
from connector.crm.activecampaign.activities import SPOOL_ROWS
from connector.crm.activecampaign.session import PAGE, STREAM_WINDOW
from connector.crm.spool import ActivitySpool, MemorySpool
from connector.models import Event
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.store import open_store, tables
from connector.store.spool import activity_spool
from connector.sync import run_sync
from connector.sync.runtime import client_runtime

TOKEN = "ac-spool-token"
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
RULES = Path(__file__).resolve().parents[2] / "config" / "rules" / "default.yaml"
CONTACTS, BATCH = 240, 40


class Counting:
    """A spool that remembers the most it was handed at once and gave back at once."""

    def __init__(self, inner: ActivitySpool) -> None:
        self.inner = inner
        self.rows_added = self.most_added = 0
        self.most_asked = self.most_read = 0

    def new_stream(self) -> int:
        return self.inner.new_stream()

    def add(self, stream: int, rows: Sequence[Any]) -> None:
        self.rows_added += len(rows)
        self.most_added = max(self.most_added, len(rows))
        self.inner.add(stream, rows)

    def events(self, stream: int, contact_ids: Sequence[str]) -> dict[str, list[Event]]:
        got = self.inner.events(stream, contact_ids)
        self.most_asked = max(self.most_asked, len(contact_ids))
        self.most_read = max(self.most_read, sum(len(v) for v in got.values()))
        return got

    def named(self, stream: int, contact_ids: Sequence[str]) -> dict[str, set[str]]:
        return self.inner.named(stream, contact_ids)

    def contact_ids(self, stream: int) -> Iterator[str]:
        return self.inner.contact_ids(stream)

    def count(self, stream: int) -> int:
        return self.inner.count(stream)

    def clear(self) -> None:
        self.inner.clear()


def _resync(url: str, spool_for: Callable[[Any], ActivitySpool]) -> dict[str, Any]:
    """A full resync of the same seeded account into the store at ``url``: the scores and
    stored events it leaves, and the spool's rows left in the store after the run."""
    population = Population(CONTACTS, seed=11)
    app = ACSandbox()
    app.add_account(TOKEN, ACAccount("nordic", population, clock=FakeClock(NOW),
                                     requests_per_second=100_000, import_polls=0))
    store = open_store(url)
    with Server(app) as server:
        client = ClientConfig.model_validate({
            "name": "nordic", "crm": {"kind": "activecampaign", "base_url": server.url,
                                      "token_env": "T"},
            "rules": str(RULES), "owner_fallback": {"name": "A B", "email": "a@b.co"},
            "invite": {"enabled": False}, "notify": {"enabled": False},
            "unsubscribe": {"enabled": False}})
        with client_runtime(client, Settings(state_url=url), store, env={"T": TOKEN},
                            clock=FakeClock(NOW)) as job:
            spool = spool_for(store)
            job.crm.use_spool(spool)  # type: ignore[attr-defined]
            report = run_sync(replace(job, batch_size=BATCH), full=True)
    ids = [person.contact.id for person in population]
    stored = store.get_contacts("nordic", ids)
    events = store.get_events("nordic", ids)
    engine = store.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        left = conn.execute(select(func.count()).select_from(tables.activity_spool)).scalar()
    store.close()
    assert report.counts["scored"] == CONTACTS, report.counts
    return {"scores": {cid: (row.total, row.tier) for cid, row in stored.items()},
            "events": {cid: sorted((e.id, str(e.type), e.occurred_at, e.url, e.email_id,
                                    e.name) for e in evs) for cid, evs in events.items()},
            "spool": spool, "left": left}


def test_a_resync_reads_the_spooled_stream_a_batch_at_a_time(store_url):
    run = _resync(store_url, lambda store: Counting(activity_spool(store, "nordic")))
    spool = run["spool"]
    streamed = sum(len(v) for v in run["events"].values())
    assert spool.rows_added > 3 * BATCH  # the account's stream went through the spool...
    assert spool.most_asked <= BATCH  # ...and came back a batch of contacts at a time
    assert 0 < spool.most_read < spool.rows_added / 3
    assert spool.most_added <= SPOOL_ROWS + STREAM_WINDOW * PAGE
    assert streamed > spool.most_read
    assert run["left"] == 0  # the run's rows went with its adapter


def test_scores_and_events_are_those_of_the_stream_held_in_memory(store_url, tmp_path):
    spooled = _resync(store_url, lambda store: activity_spool(store, "nordic"))
    in_memory = _resync(f"sqlite:///{tmp_path / 'memory.db'}", lambda store: MemorySpool())
    assert spooled["scores"] == in_memory["scores"]
    assert spooled["events"] == in_memory["events"]
    assert any(score for score, _ in spooled["scores"].values())
