"""Kill the sync with SIGKILL at random points, 50 times: the next run resumes, no write is
lost, no invite is sent twice (an interrupted send is reported, never repeated)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest

from connector.cli.common import EXIT_WORK_LEFT
from connector.errors import StateError
from connector.models import Event, EventType
from connector.sandbox.faults import FaultPlan
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.scoring import score
from connector.store import open_store
from connector.sync import run_sync

from ..e2e.helpers import RULES
from .world import MODEL

KILLS = int(os.environ.get('CRASH_KILLS', 50))
PAGES = ["https://www.example-agency.com/contact", "https://www.example-agency.com/pricing",
         "https://www.example-agency.com/services/seo", "https://www.example-agency.com/"]
TOKEN = "pat-crash-secret-1234"


def _client_file(folder, url, smtp_port):
    (folder / "acme.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "{url}", token_env: CRASH_TOKEN, plan: enterprise,
      rate_limit: {{requests_per_second: 100000}}}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{from_address: sales@example-agency.com}}
notify: {{enabled: false}}
smtp: {{host: 127.0.0.1, port: {smtp_port}}}
first_sync: act
""")


def _sync(env, full: bool = False) -> subprocess.Popen:
    command = ["resync", "--full"] if full else ["sync"]
    return subprocess.Popen([sys.executable, "-m", "connector.cli.__main__", *command,
                             "--client", "acme", "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_at_random_points_loses_nothing_and_never_double_sends(tmp_path):
    population = Population(80, seed=21)
    app = HubSpotSandbox(FaultPlan(seed=1, latency=1.0, latency_seconds=0.004))
    account = app.add_account(TOKEN, HubSpotAccount("acme", population, plan="enterprise",
                                                    ten_second_limit=10**6,
                                                    search_per_second=10**6))
    clients = tmp_path / "clients"
    clients.mkdir()
    state = f"sqlite:///{tmp_path / 'state.db'}"
    rng = random.Random(7)
    with Server(app) as server, SmtpSink() as sink:
        _client_file(clients, server.url, sink.port)
        env = {**os.environ, "CRASH_TOKEN": TOKEN, "CONNECTOR_CONFIG_DIR": str(clients),
               "CONNECTOR_STATE_URL": state, "CONNECTOR_LEASE_SECONDS": "30"}
        killed, added = 0, {}
        for round_ in range(150):
            if killed >= KILLS:
                break
            # the CRM's users keep doing things: new scores to write, new warm-ups
            for _ in range(4):
                cid = str(rng.randint(1, len(population)))
                serial = sum(len(v) for v in added.values())
                event = Event(f"live-{serial}", cid, EventType.PAGE_VIEW,
                              datetime.now(UTC), url=rng.choice(PAGES))
                account.add_event(event)
                added.setdefault(cid, []).append(event)
            proc = _sync(env, full=round_ % 2 == 0)
            time.sleep(rng.uniform(0.2, 1.8))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(30)
            # the killed run's lease is left behind: the next run sees its process is gone
            # and takes the lease over at once (no waiting for it to expire)
        assert killed >= KILLS
        final = _sync(env)
        # 5 (EXIT_WORK_LEFT): an invite killed mid-send is left "unknown" for a person,
        # which the checks below allow
        assert final.wait(120) in (0, EXIT_WORK_LEFT)
        store = open_store(state)
        [last] = store.last_runs("acme", 1)
        assert last["status"] == "ok"
        now = last["started_at"]
        for person in population:
            events = [*person.events, *added.get(person.contact.id, [])]
            expected = score(person.contact, events, MODEL, now).total
            raw = account.score_of(person.contact.id, "connector_lead_score")
            if raw is None or int(float(raw)) != expected:
                cid = person.contact.id
                mine = store.get_events("acme", [cid]).get(cid, [])
                theirs = account.events[cid]
                row = store.get_contacts("acme", [cid])[cid]
                raise AssertionError(
                    f"contact {cid}: crm {raw} expected {expected} state {row.total} "
                    f"scored {row.last_scored_at} sig {row.activity_signature} now {now}; "
                    f"stored {sorted(e.id for e in mine)} sandbox {sorted(e.id for e in theirs)}"
                    f"; expl {row.explanation}")
        sent = Counter(m["X-Connector-Key"] for m in sink.messages)
        assert all(n == 1 for n in sent.values()), sent
        outbox = {e.dedupe_key: e.status for e in store.outbox("acme") if e.kind == "invite"}
        for key, status in outbox.items():
            if status == "sent":
                assert sent[f"acme:{key}"] == 1
            else:
                assert status == "unknown" and sent[f"acme:{key}"] <= 1
        assert any(status == "sent" for status in outbox.values())


@pytest.fixture
def pg_url(pg_database):
    return pg_database


def test_postgresql_connection_dropped_mid_run_fails_clearly_then_recovers(pg_url):
    from .world import build

    app = HubSpotSandbox(FaultPlan(latency=1.0, latency_seconds=0.01))
    store = open_store(pg_url)
    with Server(app) as server, SmtpSink() as sink:
        world = build("hubspot", server, app, store, pg_url, sink.port, seed=5, size=60)
        outcome: dict = {}

        def run() -> None:
            try:
                outcome["report"] = run_sync(world.job)
            except Exception as exc:  # the point is to see what surfaces
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.8)
        db = pg_url.rsplit("/", 1)[1]
        admin = pg_url.replace("postgresql+psycopg", "postgresql").rsplit("/", 1)[0] + "/test"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", (db,))
        thread.join(120)
        if "error" in outcome:
            assert isinstance(outcome["error"], StateError), repr(outcome["error"])
            assert "state database" in str(outcome["error"])
        app.faults.update(latency=0)
        world.clock.advance(minutes=1)
        reports = world.sync_until_ok()
        assert reports[-1].status == "ok"
        now = world.clock.now()
        for cid, result in world.expected(now).items():
            assert world.crm_score(cid) == result.total
    store.close()
