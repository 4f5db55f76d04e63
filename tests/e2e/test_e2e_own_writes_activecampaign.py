"""Our own writes cost nothing on ActiveCampaign where its activity stream is proven to
name site visits (``ActiveCampaignCRM.stream_names_visits = True``, as the capability
check sets it): after a full resync (which writes every contact's score and so moves every
``udate``), the next sync reads the contact pages, the activity stream and the tracking
logs of the contacts who visited the site in between, and nothing else; those visits are
scored. Unproven, the echo is read too (tests/e2e/test_e2e_stream_fallbacks_activecampaign
.py). Real adapter over HTTP against the sandbox, SQLite and PostgreSQL."""

from __future__ import annotations

import math
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connector.models import Event, EventType
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import FakeClock
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.scoring import score
from connector.store import open_store
from connector.sync import run_sync

from .helpers import client_config, sandbox_job

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
TOKEN = "ac-echo-secret"
N = 300
PRICING = "https://www.example-agency.com/pricing"


class Counting:
    """WSGI middleware: counts requests by method and path (ids folded)."""

    def __init__(self, app: Any) -> None:
        self.app, self.calls, self.lock = app, Counter(), threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        parts = ["{id}" if p.isdigit() and i > 3 else p
                 for i, p in enumerate(environ["PATH_INFO"].split("/"))]
        with self.lock:
            self.calls[f"{environ['REQUEST_METHOD']} {'/'.join(parts)}"] += 1
        return self.app(environ, start_response)


@pytest.fixture
def world(store_url):
    clock = FakeClock(START)
    app = ACSandbox()
    # events end three days before the resync: the activity stream of the day before the
    # bookmark is what the sync between them adds
    population = Population(N, seed=5, now=START - timedelta(days=3))
    account = app.add_account(TOKEN, ACAccount("echo", population, clock=clock,
                                               requests_per_second=100_000))
    counting = Counting(app)
    with Server(counting) as server:
        client = client_config("echo", "activecampaign", server.url, 2525,
                               invite={"enabled": False}, notify={"enabled": False},
                               unsubscribe={"enabled": False})
        store = open_store(store_url)
        job = sandbox_job(client, server.url, TOKEN, clock, store, store_url,
                          stream_names_visits=True)
        yield account, job, clock, counting, population
        store.close()


def _score(account: ACAccount, job: Any, cid: str) -> int:
    return int(account.value_of(cid, job.crm.score_tag))


@pytest.mark.parametrize("visitors", [1, 3])
def test_the_sync_after_a_full_resync_costs_the_contact_pages_and_scores_the_visits(
        world, visitors):
    account, job, clock, counting, population = world
    resync = run_sync(job, full=True)
    assert resync.counts["written"] == N  # every contact's udate moved by our write
    # people who never saw the pricing page: a visit to it moves their score
    people = [p for p in population
              if not any(e.url == PRICING for e in p.events)][10:10 + visitors]
    visited = [p.contact.id for p in people]
    before = {cid: _score(account, job, cid) for cid in visited}

    clock.advance(minutes=15)
    for n, cid in enumerate(visited):  # site visits: they leave udate alone
        account.add_event(Event(f"echo-visit-{n}", cid, EventType.PAGE_VIEW,
                                clock.now() - timedelta(minutes=1), url=PRICING))
    counting.calls.clear()
    report = run_sync(job)

    calls = counting.calls
    # the contact pages (a full last page ends the paging), one page of the activity
    # stream, and per visitor its tracking logs and the write of its new score
    assert calls["GET /api/3/contacts"] == math.ceil(N / 100)
    assert calls["GET /api/3/activities"] == 1
    assert calls["GET /api/3/contacts/{id}/trackingLogs"] == visitors
    assert calls["POST /api/3/contact/sync"] == visitors
    assert sum(calls.values()) == math.ceil(N / 100) + 1 + 2 * visitors
    if visitors == 1:  # issue 17's bound
        assert sum(calls.values()) <= math.ceil(N / 100) + 3
    assert report.counts["engagement_unchanged"] == N - visitors
    assert report.counts["written"] == visitors
    for n, person in enumerate(people):  # the visit is scored: the engine on every event
        cid = person.contact.id
        visit = Event(f"echo-visit-{n}", cid, EventType.PAGE_VIEW,
                      clock.now() - timedelta(minutes=1), url=PRICING)
        expected = score(person.contact, [*person.events, visit], job.model,
                         report.started_at).total
        assert _score(account, job, cid) == expected != before[cid]


def test_a_field_edited_after_our_write_is_not_taken_for_its_echo(world):
    account, job, clock, counting, population = world
    run_sync(job, full=True)
    clock.advance(minutes=15)
    edited = population.person(42).contact.id
    fid = account._field_id("JOB_TITLE")
    account.field_values[(int(edited), fid)] = "Head of Marketing"
    account.touch(int(edited))
    counting.calls.clear()
    report = run_sync(job)
    assert counting.calls["GET /api/3/contacts/{id}/trackingLogs"] == 1
    assert report.counts["engagement_unchanged"] == N - 1
    assert job.store.get_contacts("echo", [edited])[edited].fields["job_title"] == \
        "Head of Marketing"
