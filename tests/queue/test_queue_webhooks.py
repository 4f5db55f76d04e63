"""`connector serve --queue` on the real Redis and PostgreSQL: the web process only checks,
marks dirty and enqueues; `connector worker` processes run the targeted syncs under the
client's lease. A worker killed -9 in the middle of one leaves the marks to the next (every
invite once), and the event-to-invite time through the queue with 2 workers is printed.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from connector.config import load_client
from connector.models import Event, EventType
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import client_runtime

from ..e2e.helpers import client_yaml, settings
from ..web.helpers import InviteWatch, invites, warm_ready
from .helpers import WAIT, HoldFirstWrite, start_workers, stop

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRET = "app-secret-7d1e04"
WEBHOOKS = "webhooks: {secret_env: WEBHOOK_SECRET, quiet_seconds: 0.3, max_wait_seconds: 1}\n"


def _token(name: str) -> str:
    return f"tok-{name}"


def _env_name(name: str) -> str:
    return f"{name.upper()}_TOKEN"


def _setup(tmp: Path, hs: HubSpotSandbox, crm_url: str, smtp_port: int, store_url: str,
           clients: dict[str, list[str]]) -> dict[str, HubSpotAccount]:
    """One HubSpot account and client file per name, with these warm-ready contacts; each
    client fully synced once here (all stored, none warm yet)."""
    folder = tmp / "clients"
    folder.mkdir()
    accounts = {}
    store = open_store(store_url)
    for name, ids in clients.items():
        account = hs.add_account(_token(name), HubSpotAccount(
            name, plan="enterprise", ten_second_limit=10**6, search_per_second=10**6))
        for cid in ids:
            account.add_contact(warm_ready(cid))
        accounts[name] = account
        path = folder / f"{name}.yaml"
        path.write_text(client_yaml("hubspot", crm_url, _env_name(name), smtp_port) + WEBHOOKS)
        with client_runtime(load_client(path), settings(store_url), store,
                            env={_env_name(name): _token(name)}) as job:
            assert run_sync(job, full=True).status == "ok"
    store.close()
    return accounts


def _env(tmp: Path, store_url: str, queue, clients) -> dict[str, str]:
    return {**os.environ, "CONNECTOR_CONFIG_DIR": str(tmp / "clients"),
            "CONNECTOR_STATE_URL": store_url, "CONNECTOR_QUEUE_NAME": queue.name,
            "CONNECTOR_QUEUE_URL": queue.url, "CONNECTOR_QUEUE_VISIBILITY_TIMEOUT": "10",
            "CONNECTOR_LEASE_SECONDS": "30", "WEBHOOK_SECRET": SECRET,
            **{_env_name(name): _token(name) for name in clients}}


def _serve(tmp: Path, env: dict[str, str], queue_url: str) -> tuple[subprocess.Popen, str]:
    """`connector serve --queue URL` on a free port, answering /healthz."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = (tmp / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--port",
                             str(port), "--queue", queue_url], env=env, stdout=out,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT
    while True:
        try:
            requests.get(f"{url}/healthz", timeout=1)
            return proc, url
        except requests.ConnectionError:
            assert proc.poll() is None, (tmp / "serve.log").read_text()
            assert time.monotonic() < deadline, "connector serve did not start"
            time.sleep(0.1)


def _contact_form(cid: str) -> Event:
    return Event(f"form-{cid}", cid, EventType.FORM_SUBMISSION, datetime.now(UTC),
                 name="contact-form", url="https://www.example-agency.com/contact")


def _wait(check, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, what + "".join(
            f"\n--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
        time.sleep(0.1)


def test_a_webhook_sync_runs_in_a_worker_and_a_worker_killed_during_it_leaves_the_marks(
        tmp_path, queue, pg_database):
    ids = ["7001", "7002", "7003"]
    hs = HubSpotSandbox()
    hold = HoldFirstWrite(hs, _token("acme"), "/batch/update", armed=False)
    procs: list[subprocess.Popen] = []
    with Server(hold) as crm, SmtpSink() as sink:
        accounts = _setup(tmp_path, hs, crm.url, sink.port, pg_database, {"acme": ids})
        hold.armed = True  # the next score write is the targeted sync's: held, then lost
        env = _env(tmp_path, pg_database, queue, ["acme"])
        store = open_store(pg_database)
        try:
            workers = start_workers(tmp_path, env, 2, 1)
            procs += [proc for proc, _ in workers]
            server, url = _serve(tmp_path, env, queue.url)
            procs.append(server)
            logs = [log for _, log in workers] + [tmp_path / "serve.log"]
            accounts["acme"].send_webhooks(f"{url}/webhooks/hubspot/acme", SECRET)
            for cid in ids:
                accounts["acme"].add_event(_contact_form(cid))

            # the targeted sync is writing the scores: a worker holds the lease, not serve
            assert hold.reached.wait(WAIT), "no targeted sync wrote its scores" + "".join(
                log.read_text()[-3000:] for log in logs)
            holder, _ = store.lease_holder("acme")
            pid = int(holder.split(":")[1])
            assert pid in {proc.pid for proc, _ in workers} and pid != server.pid
            assert set(store.dirty_contacts("acme")) == set(ids)
            os.kill(pid, signal.SIGKILL)
            next(proc for proc, _ in workers if proc.pid == pid).wait(10)
            hold.go_on.set()

            # the other worker takes the client over and syncs the marks the killed one left
            _wait(lambda: len(invites(sink)) >= len(ids) and not store.dirty_contacts("acme"),
                  "the marks of the killed sync were not synced", logs)
            time.sleep(1.5)  # more than quiet + max wait: a duplicate would have come
            messages = list(sink.messages)
            metrics = requests.get(f"{url}/metrics", timeout=5).text
        finally:
            hold.go_on.set()
            stop(procs)

    keys = Counter(m["X-Connector-Key"] for m in messages)
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]  # 0 duplicates
    assert sorted(m["To"] for m in messages if ":invite:" in m["X-Connector-Key"]) == [
        f"lead{cid}@lund.dk" for cid in ids]  # 0 lost
    runs = [r for r in store.last_runs("acme", 10) if r["kind"] == "targeted sync"]
    statuses = [r["status"] for r in runs]
    assert statuses[0] == "ok" and "interrupted" in statuses[1:], runs
    assert runs[0]["counts"]["targeted"] == len(ids)
    other = next(log for proc, log in workers if proc.pid != pid).read_text()
    assert f"client acme: took over from a worker that is gone ({holder})" in other
    # the web process queued the syncs and ran none itself
    assert 'connector_targeted_syncs_queued_total{client="acme"}' in metrics
    assert "connector_syncs_total{" not in metrics
    assert "targeted syncs queued on redis://" in (tmp_path / "serve.log").read_text()
    store.close()


EVENTS = 50
CLIENTS = 5


def test_event_to_invite_through_the_queue_with_2_workers(tmp_path, queue, pg_database):
    """50 contact forms, 10 a second, over 5 HubSpot clients; `connector serve --queue` and
    2 `connector worker`s. Prints p50 / p95 / max from the event to its invite in the SMTP
    sink (README, "Webhooks"); asserts every lead is invited once."""
    names = [f"w{i}" for i in range(CLIENTS)]
    ids = {name: [str(8000 + 100 * i + k) for k in range(EVENTS // CLIENTS)]
           for i, name in enumerate(names)}
    hs = HubSpotSandbox()
    procs: list[subprocess.Popen] = []
    with Server(hs) as crm, SmtpSink() as sink:
        accounts = _setup(tmp_path, hs, crm.url, sink.port, pg_database, ids)
        env = _env(tmp_path, pg_database, queue, names)
        try:
            procs += [proc for proc, _ in start_workers(tmp_path, env, 2, 1)]
            server, url = _serve(tmp_path, env, queue.url)
            procs.append(server)
            for name in names:
                accounts[name].send_webhooks(f"{url}/webhooks/hubspot/{name}", SECRET)
            watch = InviteWatch(sink)
            sent_at: dict[str, float] = {}
            for k in range(EVENTS // CLIENTS):  # round robin: every client busy at once
                for name in names:
                    cid = ids[name][k]
                    sent_at[f"lead{cid}@lund.dk"] = time.time()
                    accounts[name].add_event(_contact_form(cid))
                    time.sleep(0.1)
            _wait(lambda: len(watch.first) >= EVENTS, "not every lead was invited",
                  [tmp_path / f"worker{n}.log" for n in range(2)] + [tmp_path / "serve.log"])
            watch.stop()
            messages = list(sink.messages)
        finally:
            stop(procs)
    keys = Counter(m["X-Connector-Key"] for m in messages)
    assert max(keys.values()) == 1
    assert set(watch.first) == set(sent_at)
    lags = sorted(watch.first[email] - sent for email, sent in sent_at.items())
    p95 = lags[int(0.95 * len(lags)) - 1]
    print(f"\nevent -> invite through the queue, 2 workers, {CLIENTS} clients, "
          f"{len(lags)} events: p50 {statistics.median(lags):.2f} s, p95 {p95:.2f} s, "
          f"max {lags[-1]:.2f} s")
