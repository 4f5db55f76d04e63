"""Scale-out on the real Redis and PostgreSQL: 3 `connector worker` processes, 20 sandbox
clients (HubSpot and ActiveCampaign) enqueued at once, and one worker killed -9 in the
middle of a client's sync (its score write held by the sandbox). Another worker must
take the client over and finish it; every warm lead gets exactly one invite (counted in
the SMTP sink by dedupe key), every stored score is in the CRM, every bookmark is the
start of the client's last successful run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from connector.models import Contact
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store

from ..e2e.helpers import client_yaml
from ..scoring.scenarios import story_000
from .helpers import WAIT, HoldFirstWrite, start_workers, stop

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 20
WORKERS = 3
WARM = 2  # story contacts per client that turn warm on the first sync
VICTIM = "q04"  # a HubSpot client: its worker dies while the sandbox holds its score write


def _name(i: int) -> str:
    return f"q{i:02d}"


def _kind(i: int) -> str:
    return "hubspot" if i % 2 == 0 else "activecampaign"


def _clients(tmp: Path, hs_url: str, ac_url: str, smtp_port: int, hs: HubSpotSandbox,
             ac: ACSandbox) -> dict[str, object]:
    """20 client files and their sandbox accounts (a small population plus WARM stories)."""
    folder = tmp / "clients"
    folder.mkdir()
    now = datetime.now(UTC)
    accounts: dict[str, object] = {}
    for i in range(CLIENTS):
        name, kind = _name(i), _kind(i)
        token = f"tok-{name}"
        population = Population(5, seed=300 + i, now=now)
        if kind == "hubspot":
            account = hs.add_account(token, HubSpotAccount(
                name, population, plan="enterprise", ten_second_limit=10**6,
                search_per_second=10**6))
            url = hs_url
        else:
            account = ac.add_account(token, ACAccount(name, population,
                                                      requests_per_second=10**6))
            url = ac_url
        for k in range(WARM):
            cid = str(900000 + i * 10 + k)
            email = f"lead{cid}@example.com"
            account.add_contact(Contact(id=cid, email=email, fields={
                "email": email, "first_name": "Maja", "last_name": "Lund",
                "company": "Lund ApS"}), story_000(cid, now))
        accounts[name] = account
        (folder / f"{name}.yaml").write_text(
            client_yaml(kind, url, f"{name.upper()}_TOKEN", smtp_port))
    return accounts


def _crm_score(kind: str, account, cid: str) -> int | None:
    raw = (account.score_of(cid, "connector_lead_score") if kind == "hubspot"
           else account.value_of(cid, "CONNECTOR_LEAD_SCORE"))
    return int(float(raw)) if raw not in (None, "") else None


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_workers_share_clients_and_a_killed_workers_client_is_finished_by_another(
        tmp_path, queue, pg_database, pool):
    """solo: 3 one-process workers, the whole worker killed (Redis hands its task on after
    the visibility timeout); prefork: 2 workers of 2 pool processes, the pool process
    running the sync killed (its worker requeues the task at once)."""
    hs, ac = HubSpotSandbox(), ACSandbox()
    hold = HoldFirstWrite(hs, f"tok-{VICTIM}", "/batch/update")
    store = open_store(pg_database)  # migrates once, before the workers connect
    workers: list[tuple[subprocess.Popen, Path]] = []
    with Server(hold) as hs_server, Server(ac) as ac_server, SmtpSink() as sink:
        accounts = _clients(tmp_path, hs_server.url, ac_server.url, sink.port, hs, ac)
        env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(tmp_path / "clients"),
               "CONNECTOR_STATE_URL": pg_database, "CONNECTOR_QUEUE_URL": queue.url,
               "CONNECTOR_QUEUE_NAME": queue.name,
               "CONNECTOR_QUEUE_VISIBILITY_TIMEOUT": "10", "CONNECTOR_LEASE_SECONDS": "30",
               **{f"{_name(i).upper()}_TOKEN": f"tok-{_name(i)}" for i in range(CLIENTS)}}
        try:
            workers = (start_workers(tmp_path, env, WORKERS, 1) if pool == "solo"
                       else start_workers(tmp_path, env, 2, 2))
            from connector.queue import app as queue_app
            from connector.queue.producer import enqueue

            queue_app.configure(queue.url, 10, queue.name)
            for i in range(CLIENTS):
                enqueue(_name(i))

            # the victim's worker is in the middle of the sync: kill -9 the lease holder
            assert hold.reached.wait(WAIT), "the victim's score write never came"
            holder, _ = store.lease_holder(VICTIM)
            pid = int(holder.split(":")[1])
            owner = pid if pool == "solo" else psutil.Process(pid).ppid()
            assert owner in {proc.pid for proc, _ in workers}
            os.kill(pid, signal.SIGKILL)
            if pool == "solo":
                next(proc for proc, _ in workers if proc.pid == pid).wait(10)
            else:
                psutil.Process(owner)  # the worker itself lives on (a new pool process)
            hold.go_on.set()

            deadline = time.monotonic() + WAIT
            while not all(_last_ok(store, _name(i)) for i in range(CLIENTS)):
                assert time.monotonic() < deadline, "not every client finished: " + str(
                    {_name(i): store.last_runs(_name(i), 1) for i in range(CLIENTS)
                     if not _last_ok(store, _name(i))}) + _logs(workers)
                time.sleep(0.5)
            sink_messages = list(sink.messages)
        finally:
            hold.go_on.set()
            stop([proc for proc, _ in workers])

    # another worker took the victim over and finished it; the killed run is marked
    others = "".join(log.read_text() for proc, log in workers if proc.pid != pid)
    if pool == "prefork":
        assert "WorkerLostError" in others  # the worker saw its pool process die
    assert f"client {VICTIM}: took over from a worker that is gone ({holder})" in others
    statuses = [run["status"] for run in store.last_runs(VICTIM, 10)]
    assert statuses[0] == "ok" and "interrupted" in statuses[1:], statuses
    assert store.last_runs(VICTIM, 1)[0]["counts"]["written"] == 5 + WARM  # the lost writes

    # 0 duplicate invites, none lost: one mail per dedupe key, one per warm-up
    keys = Counter(m["X-Connector-Key"] for m in sink_messages)
    assert keys and max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    for i in range(CLIENTS):
        name = _name(i)
        sent = [e for e in store.outbox(name) if e.kind == "invite"]
        assert all(e.status == "sent" for e in sent), [(e.contact_id, e.status) for e in sent]
        assert {f"{name}:{e.dedupe_key}" for e in sent} == {k for k in keys
                                                             if k.startswith(f"{name}:")}
        stories = {str(900000 + i * 10 + k) for k in range(WARM)}
        assert stories <= {e.contact_id for e in sent}, name

    # 0 lost writes: every stored score is the CRM's; bookmarks at the last ok run's start
    for i in range(CLIENTS):
        name, kind = _name(i), _kind(i)
        stored = [c for chunk in store.iter_contacts(name) for c in chunk]
        assert len(stored) == 5 + WARM, name
        wrong = {c.contact_id: (c.score, _crm_score(kind, accounts[name], c.contact_id))
                 for c in stored if _crm_score(kind, accounts[name], c.contact_id) != c.score}
        assert not wrong, f"{name}: stored vs CRM {wrong}"
        run = _last_ok(store, name)
        assert store.get_bookmark(name, "contacts") == run["started_at"], name
    store.close()


def _last_ok(store, client: str) -> dict | None:
    runs = store.last_runs(client, 1)
    return runs[0] if runs and runs[0]["status"] == "ok" else None


def _logs(workers) -> str:
    return "".join(f"\n--- {log.name}\n{log.read_text()[-2000:]}" for _, log in workers)
