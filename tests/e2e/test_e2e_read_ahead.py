"""The next batch is read (pull, state, engagement) while the current one is scored,
written and recorded, so the rate limit does not idle between batches (issue 17); and
reading ahead changes nothing a user sees: each contact is processed once, stops and
errors leave no helper behind, and what is due from state is counted exactly."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pytest

from connector.crm.base import WriteReport
from connector.models import Contact, Event, EventType
from connector.sandbox.clock import FakeClock
from connector.sandbox.memory_crm import MemoryCRM
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import make_job

from ..scoring.scenarios import story_000
from .helpers import client_config, settings, story_contact

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
BATCH = 5


class WatchedCRM(MemoryCRM):
    """Each score write waits for the engagement read of a contact the write does not
    hold (the next batch's), or for every contact to have been read (the last batch has
    no next one). It records whether the next batch's read came. ``patience`` is only a
    safety net: one batch after the other, each write but the last waits it out."""

    def __init__(self, *args, patience: float = 30.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.patience = patience
        self.read_ids: list[str] = []
        self.written: set[str] = set()
        self.lock = threading.Lock()
        self.read = threading.Condition(self.lock)
        self.overlapped: list[bool] = []

    def fetch_events(self, contacts: Sequence[Contact],
                     since: datetime | None) -> Mapping[str, list[Event]]:
        with self.read:
            self.read_ids.extend(c.id for c in contacts)
            self.read.notify_all()
        return super().fetch_events(contacts, since)

    def write_scores(self, scores: Mapping[str, int]) -> WriteReport:
        def next_batch_read() -> bool:
            return any(cid not in scores and cid not in self.written
                       for cid in self.read_ids[-BATCH:])

        with self.read:
            self.read.wait_for(lambda: next_batch_read()
                               or set(self.read_ids) >= set(self.account.contacts),
                               timeout=self.patience)
            self.overlapped.append(next_batch_read())
        self.written.update(scores)
        return super().write_scores(scores)


def _people(n: int) -> list[Contact]:
    return [story_contact(f"c{i:02d}", f"p{i}@lund{i}.dk") for i in range(n)]


@pytest.fixture
def world(store_url):
    clock = FakeClock(START)
    with SmtpSink() as sink:
        store = open_store(store_url)

        def build(crm: MemoryCRM):
            client = client_config("ahead", "hubspot", "http://unused", sink.port)
            job = make_job(client, settings(store_url), store, crm=crm, clock=clock,
                           env={"TEST_TOKEN": "t"})
            job.batch_size = BATCH
            return job
        yield build, clock, sink, store
        store.close()


def test_the_next_batch_is_read_while_the_current_one_is_written(world):
    build, clock, _, _ = world
    crm = WatchedCRM(clock=clock)
    crm.load(_people(4 * BATCH))
    report = run_sync(build(crm), full=True)
    assert report.status == "ok" and report.counts["written"] == 4 * BATCH
    # every write but the last saw the next batch's engagement being read meanwhile;
    # one batch after the other, each would have waited out its patience and seen none
    assert crm.overlapped == [True, True, True, False]


def test_a_contact_in_neighbouring_batches_is_processed_once(world):
    build, clock, sink, store = world

    class Twice(WatchedCRM):
        """Answers the story contact first and again at the start of the next page, as a
        CRM whose record moved between two page reads does; each write waits until the
        next batch is being read, so that batch was read before this one was recorded."""

        def iter_contacts(self, since, until):
            contacts = list(super().iter_contacts(since, until))
            story = next(c for c in contacts if c.id == "story")
            rest = [c for c in contacts if c.id != "story"]
            yield from [story, *rest[:BATCH - 1], story, *rest[BATCH - 1:]]

    # the last pulled batch is read only once the one before it is recorded (what is due
    # from state joins it): that write would wait out any patience, so keep it short
    crm = Twice(clock=clock, patience=2.0)
    crm.load([story_contact("story", "maja@lund.dk"), *_people(3 * BATCH)])
    run_sync(build(crm))
    for event in story_000("story", clock.now()):
        crm.add_event(event)
    clock.advance(minutes=15)
    report = run_sync(build(crm), full=True)
    assert report.status == "ok"
    assert report.counts["scored"] == 3 * BATCH + 1  # not once more for the repeat
    assert report.counts["became_warm"] == 1
    assert [m["To"] for m in sink.messages if "invite" in m["X-Connector-Key"]] == [
        "maja@lund.dk"]


def test_what_is_due_from_state_is_counted_once_all_pulled_contacts_are_recorded(world):
    build, clock, _, _ = world
    crm = MemoryCRM(clock=clock)
    people = _people(3 * BATCH)
    crm.load([story_contact("story", "maja@lund.dk"), *people])
    for event in story_000("story", START):
        crm.add_event(event)
    for c in people:  # everyone's score decays: everyone is due by time 40 days on
        crm.add_event(Event(f"v-{c.id}", c.id, EventType.PAGE_VIEW, START,
                            url="https://www.example-agency.com/contact"))
    clock.advance(minutes=1)
    run_sync(build(crm))
    clock.advance(minutes=15)
    run_sync(build(crm))  # our writes come back once
    clock.advance(days=40)
    for c in people:  # everyone but the story moved in the CRM: pulled, so not due
        crm._touch(c.id)
    report = run_sync(build(crm))
    assert report.counts["pulled"] == 3 * BATCH
    # the story alone is due: the pulled ones were recorded before state was asked
    assert report.counts["due"] == 1
    assert report.counts["scored"] == 3 * BATCH + 1


def test_an_error_while_finishing_a_batch_leaves_no_reader_behind(world):
    build, clock, _, store = world

    class FailsOnSecondWrite(MemoryCRM):
        def write_scores(self, scores):
            if self.calls["write"] == 1:
                raise RuntimeError("disk full")
            return super().write_scores(scores)

    crm = FailsOnSecondWrite(clock=clock)
    crm.load(_people(6 * BATCH))
    with pytest.raises(RuntimeError, match="disk full"):
        run_sync(build(crm), full=True)
    assert not [t for t in threading.enumerate() if t.name.startswith("read-ahead")]
    assert crm.calls["events"] <= 3  # the batch in hand and at most the one read ahead
    assert store.contact_count("ahead") == BATCH
    assert store.get_bookmark("ahead", "contacts") is None  # the pull never finished
    clock.advance(minutes=1)
    report = run_sync(build(MemoryCRM(crm.account, clock=clock)))
    assert report.status == "ok" and report.counts["scored"] == 6 * BATCH
    assert report.counts["written"] == 5 * BATCH  # the first batch's scores are in


def test_a_stop_while_the_next_batch_is_read_keeps_what_was_recorded(world):
    build, clock, _, store = world
    job_box: list = []

    class StopAfterFirstWrite(MemoryCRM):
        def write_scores(self, scores):
            out = super().write_scores(scores)
            job_box[0].stop.set()
            return out

    crm = StopAfterFirstWrite(clock=clock)
    crm.load(_people(4 * BATCH))
    job = build(crm)
    job_box.append(job)
    report = run_sync(job, full=True)
    assert report.status == "interrupted"
    assert report.counts["written"] == BATCH and report.counts["scored"] == BATCH
    assert store.contact_count("ahead") == BATCH  # the batch read ahead was dropped whole
    assert not [t for t in threading.enumerate() if t.name.startswith("read-ahead")]
    clock.advance(minutes=1)
    report = run_sync(build(MemoryCRM(crm.account, clock=clock)), full=True)
    assert report.status == "ok" and store.contact_count("ahead") == 4 * BATCH
    assert report.counts["written"] == 3 * BATCH
