"""Stopping, killing and scheduling the connector as an operator does: SIGTERM to
`connector run` inside a container's grace period, Ctrl-C to `connector sync`, kill -9 and
an immediate new sync, and a first run that follows the schedule."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from connector.config import Settings, load_client
from connector.errors import LeaseHeld
from connector.sandbox.activecampaign import ACAccount, ACSandbox
from connector.sandbox.clock import ClockParts
from connector.sandbox.faults import FaultPlan
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.schedule.scheduler import Runner
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.lease import Heartbeat, acquire, holder_is_dead, holder_name, release
from connector.sync.runtime import make_job
from connector.sync.status import status

from ..e2e.helpers import RULES, client_config

GRACE = 10  # seconds a container runtime waits after SIGTERM before SIGKILL
SLOW = 0.1  # seconds per sandbox request for the "slow" client: one batch takes > 25 s


class SlowSmtp:
    """An SMTP server that takes ``delay`` seconds to accept each message."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.messages: list[Any] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def __enter__(self) -> SlowSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def _client_file(folder: Path, name: str, url: str, token_env: str, smtp_port: int,
                 schedule: str = "{interval_minutes: 60}") -> None:
    (folder / f"{name}.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "{url}", token_env: {token_env}, plan: enterprise,
      rate_limit: {{requests_per_second: 100000}}}}
rules: {RULES}
schedule: {schedule}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{from_address: sales@example-agency.com}}
notify: {{enabled: false}}
smtp: {{host: 127.0.0.1, port: {smtp_port}}}
first_sync: act
""")


def _account(name: str, size: int, seed: int) -> HubSpotAccount:
    return HubSpotAccount(name, Population(size, seed=seed), plan="enterprise",
                          ten_second_limit=10**6, search_per_second=10**6)


def _connector(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "connector.cli.__main__", *args],
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for(condition, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class _Output:
    """A process's output, read line by line as it comes (a thread), so a test can wait
    for a line instead of guessing how long the process takes to start."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Until a line holds ``text``; fails at once if the output ended without it."""
        _wait_for(lambda: self._has(text) or not self.thread.is_alive(), timeout, repr(text))
        assert self._has(text), self.text()

    def _has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def text(self) -> str:
        return "".join(self.lines)

    def communicate(self, timeout: float) -> str:
        self.proc.wait(timeout)
        self.thread.join(timeout)
        return self.text()


def _running(url: str, client: str) -> bool:
    store = open_store(url)
    try:
        return any(r["status"] == "running" for r in store.last_runs(client, 5))
    finally:
        store.close()


@pytest.fixture
def world(tmp_path):
    """Two HubSpot portals: "slow" (600 contacts, every request takes 0.1 s, so its first
    batch of 500 needs more than 25 s) and "quick" (60 contacts, no delay, warm leads whose
    invites go through an SMTP server taking 0.5 s per message)."""
    slow_app = HubSpotSandbox(FaultPlan(latency=1.0, latency_seconds=SLOW))
    slow_app.add_account("tok-slow-1111", _account("slow", 600, 3))
    quick_app = HubSpotSandbox()
    quick_app.add_account("tok-quick-2222", _account("quick", 60, 1))
    clients = tmp_path / "clients"
    clients.mkdir()
    with Server(slow_app) as slow, Server(quick_app) as quick, SlowSmtp(0.5) as smtp:
        _client_file(clients, "slow", slow.url, "TOK_SLOW", smtp.port)
        _client_file(clients, "quick", quick.url, "TOK_QUICK", smtp.port)
        env = {"TOK_SLOW": "tok-slow-1111", "TOK_QUICK": "tok-quick-2222",
               "CONNECTOR_CONFIG_DIR": str(clients), "CONNECTOR_LOG_LEVEL": "WARNING",
               "CONNECTOR_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
        yield {"env": env, "smtp": smtp, "slow_app": slow_app, "clients": clients,
               "url": env["CONNECTOR_STATE_URL"]}


# -- item 4: stop is truthful, saves what finished, fits the grace period ---------------------
def test_sigterm_to_run_saves_what_finished_says_what_is_left_within_the_grace_period(world):
    env, smtp, url = world["env"], world["smtp"], world["url"]
    proc = _connector(env, "run", "--now")
    try:
        # "quick" has pulled, scored and written everything and is delivering its invites;
        # "slow" is in the middle of its first batch's engagement calls
        _wait_for(lambda: len(smtp.messages) >= 1, what="the first invite")
        proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        output, _ = proc.communicate(timeout=GRACE + 20)
        took = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert took < GRACE, f"stopping took {took:.1f} s (a container is killed after {GRACE})"

    store = open_store(url)
    # quick finished its pull: its bookmark is saved, every invite is sent or still pending
    assert store.get_bookmark("quick", "contacts") is not None, output
    invites = [e for e in store.outbox("quick") if e.kind == "invite"]
    sent = [e for e in invites if e.status == "sent"]
    pending = [e for e in invites if e.status == "pending"]
    assert invites and len(sent) + len(pending) == len(invites), [e.status for e in invites]
    keys = [m["X-Connector-Key"] for m in smtp.messages]
    assert len(keys) == len(set(keys)) == len(sent)
    # slow was stopped mid-batch: nothing half-done recorded, its bookmark not moved
    assert store.get_bookmark("slow", "contacts") is None
    assert store.contact_count("slow") == 0
    [slow_run] = store.last_runs("slow", 5)
    assert slow_run["status"] == "interrupted"
    # and the output says exactly that, client by client
    lines = {line.split(":")[0].strip(): line for line in output.splitlines()
             if line.startswith("  ") and ("slow:" in line or "quick:" in line)}
    assert "bookmark not moved" in lines["slow"], output
    assert "bookmark saved" in lines["quick"], output
    left = len(store.outbox("quick", ["pending"]))
    said = f"{left} action(s)" if left else "no action"
    assert said in lines["quick"], output
    assert "bookmarks saved" not in output


@pytest.mark.parametrize(("command", "signum"), [(("sync",), signal.SIGINT),
                                                  (("resync", "--full"), signal.SIGTERM)])
def test_sync_and_resync_stop_on_a_signal_and_say_they_were_interrupted(world, command,
                                                                        signum):
    env, url = world["env"], world["url"]
    proc = _connector(env, *command, "--client", "slow")
    try:
        _wait_for(lambda: _running(url, "slow"), what="the run to start")
        time.sleep(1.0)  # inside the first batch's engagement calls
        proc.send_signal(signum)
        output, _ = proc.communicate(timeout=GRACE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, output
    assert "slow: interrupted" in output and "bookmark not moved" in output, output
    assert "Traceback" not in output
    store = open_store(url)
    [run] = store.last_runs("slow", 5)
    assert run["status"] == "interrupted"
    assert store.lease_holder("slow") is None  # released: the next run starts at once


def test_a_stop_mid_pull_keeps_finished_batches_and_the_bookmark_behind_the_rest(tmp_path):
    """Incremental HubSpot pulls are ordered: batches processed before the stop are kept,
    the bookmark stops at the last of them, and the next sync completes the rest."""
    app = HubSpotSandbox()
    account = app.add_account("tok-x", _account("acme", 150, 4))
    clients = tmp_path / "clients"
    clients.mkdir()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with Server(app) as server, SlowSmtp(0) as smtp:
        _client_file(clients, "acme", server.url, "TOK_X", smtp.port)
        client = load_client(clients / "acme.yaml")
        store = open_store(url)

        def job():
            j = make_job(client, Settings(state_url=url), store, env={"TOK_X": "tok-x"})
            j.batch_size = 40
            return j

        assert run_sync(job()).status == "ok"
        for person in list(account.contacts)[:130]:
            account._touch(person)  # every contact changed since the bookmark
        interrupted = job()
        pull = interrupted.crm.iter_contacts

        def pull_and_stop_inside_the_third_batch(since, until):
            for i, contact in enumerate(pull(since, until)):
                if i == 100:  # SIGTERM arrives
                    interrupted.stop.set()
                yield contact

        interrupted.crm.iter_contacts = pull_and_stop_inside_the_third_batch
        before = store.get_bookmark("acme", "contacts")
        report = run_sync(interrupted)
        assert report.status == "interrupted" and report.stopped_during == "pull"
        done = [row for chunk in store.iter_contacts("acme") for row in chunk
                if row.last_scored_at == report.started_at]
        assert len(done) == 80  # two whole batches; the third was dropped whole
        bookmark = store.get_bookmark("acme", "contacts")
        assert report.bookmark_saved and bookmark == report.bookmark
        assert before < bookmark <= max(row.updated_at_crm for row in done)
        final = run_sync(job())
        assert final.status == "ok"
        for cid in account.contacts:
            row = store.get_contacts("acme", [cid])[cid]
            assert int(float(account.score_of(cid, "connector_lead_score"))) == row.total


# -- item 5: a dead holder is detected at once and its run marked interrupted -------------------
def test_kill_9_then_an_immediate_sync_takes_over_and_status_says_interrupted(world):
    env, url = world["env"], world["url"]
    proc = _connector(env, "sync", "--client", "slow")
    _wait_for(lambda: _running(url, "slow"), what="the run to start")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    status = subprocess.run([sys.executable, "-m", "connector.cli.__main__", "status",
                             "--json"], env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=60)
    assert '"status": "interrupted"' in status.stdout, status.stdout
    assert '"status": "running"' not in status.stdout

    world["slow_app"].faults.latency = 0.0  # the portal is fast again: the sync completes
    world["smtp"].delay = 0
    again = subprocess.run([sys.executable, "-m", "connector.cli.__main__", "sync",
                            "--client", "slow"], env={**os.environ, **env},
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "being synced" not in again.stdout + again.stderr
    assert "took over from a run that is gone" in again.stdout
    store = open_store(url)
    runs = sorted(store.last_runs("slow", 5), key=lambda r: r["started_at"])
    assert [r["status"] for r in runs] == ["interrupted", "ok"]


def test_lease_of_a_live_holder_is_kept_and_renewed_and_a_lost_one_stops_the_run(store_url):
    store = open_store(store_url)  # SQLite and PostgreSQL
    now = datetime.now(UTC)
    # another machine's live run: only its lease's expiry can free the client
    store.acquire_lease("a", "elsewhere:1:abcd", 60, now)
    assert not holder_is_dead("elsewhere:1:abcd")
    mine = holder_name()
    with pytest.raises(Exception, match="being synced by elsewhere"):
        acquire(store, "a", mine, 60, now)
    assert acquire(store, "a", mine, 60, now + timedelta(seconds=61)) is None  # expired
    # this host: a process that is gone, or this process but not one of its live runs
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    assert holder_is_dead(f"{socket.gethostname()}:{gone}:0000")
    assert holder_is_dead(f"{socket.gethostname()}:{os.getpid()}:restarted")
    assert not holder_is_dead(mine)
    # a heartbeat keeps the lease ahead of the clock, and notices when it was taken over
    lost = threading.Event()
    first = store.lease_holder("a")[1]
    with Heartbeat(store, "a", mine, 60,
                   ClockParts(now=lambda: datetime.now(UTC) + timedelta(seconds=61)),
                   on_lost=lost.set, every=0.05):
        _wait_for(lambda: store.lease_holder("a")[1] > first, 5, "a renewal")
        assert store.take_over_lease("a", mine, "elsewhere:2:ffff", 60, now)
        _wait_for(lost.is_set, 5, "the lost lease to be noticed")
    release(store, "a", mine)
    assert store.lease_holder("a")[0] == "elsewhere:2:ffff"  # never released another's
    # a run recorded as running whose holder is gone: status says interrupted, and the
    # run that takes the lease next records it so
    dead = f"{socket.gethostname()}:{gone}:0000"
    store.acquire_lease("b", dead, 60, now)
    store.start_run("b", "sync", now)
    assert status(store)["clients"]["b"]["last_run"]["status"] == "interrupted"
    assert acquire(store, "b", holder_name(), 60, now) == dead
    assert store.interrupt_runs("b", now) == 1
    assert [r["status"] for r in store.last_runs("b")] == ["interrupted"]
    store.close()


# -- item 10: the first run follows the schedule; --now runs at once ---------------------------
def test_runner_first_run_follows_the_schedule_unless_asked_to_run_now(tmp_path, world):
    clients = world["clients"]
    _client_file(clients, "quick", "http://127.0.0.1:9", "TOK_QUICK", 25,
                 schedule='{cron: "0 0 1 1 *", timezone: UTC}')
    client = load_client(clients / "quick.yaml")
    for now, expected in ((False, []), (True, ["quick"])):
        ran: list[str] = []
        runner = Runner({"quick": client}, lambda name, stop, ran=ran: ran.append(name),
                        first_run_now=now)
        runner.start()
        try:
            next_run = runner.next_runs()["quick"]
            if now:  # the run is due at once: wait for it, however busy the machine
                _wait_for(lambda ran=ran: ran, what="the first run")
            else:  # nothing is due: give a wrong first run time to show
                time.sleep(1.5)
        finally:
            runner.shutdown()
        assert ran == expected
        if not now:
            assert (next_run.month, next_run.day, next_run.hour) == (1, 1, 0)


def test_run_without_now_waits_for_the_cron(world):
    env, url, clients = world["env"], world["url"], world["clients"]
    for name in ("slow", "quick"):
        text = (clients / f"{name}.yaml").read_text()
        (clients / f"{name}.yaml").write_text(text.replace(
            "schedule: {interval_minutes: 60}", 'schedule: {cron: "0 0 1 1 *"}'))
    proc = _connector(env, "run")
    out = _Output(proc)
    try:
        # the next runs are printed once the signal handlers are in place (a SIGTERM
        # before that, on a busy machine still importing, would just kill the process)
        out.wait_for("first run")
        time.sleep(2)  # nothing is due: give a run that starts anyway time to show
        proc.send_signal(signal.SIGTERM)
        output = out.communicate(timeout=GRACE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "quick: first run" in output and "-01-01 00:00" in output, output
    assert "quick: no run in this session" in output
    store = open_store(url)
    assert store.last_runs("quick", 5) == [] and store.last_runs("slow", 5) == []


def test_a_stop_does_not_wait_out_an_activecampaign_import_queue(tmp_path):
    """AC confirms bulk imports when its queue gets to them; a stop records the batch with
    its unconfirmed scores as failed writes (retried next sync) instead of polling on."""
    app = ACSandbox()
    account = app.add_account("ac-tok", ACAccount("nordic", Population(40, seed=6),
                                                  requests_per_second=10**4,
                                                  import_polls=10**6))
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    with Server(app) as server:
        client = client_config("nordic", "activecampaign", server.url, 25,
                               crm={"rate_limit": {"requests_per_second": 10**4}},
                               invite={"enabled": False}, notify={"enabled": False})
        job = make_job(client, Settings(state_url=store.url), store,
                       env={"TEST_TOKEN": "ac-tok"})
        write = job.crm.write_scores

        def write_then_sigterm(scores):
            job.stop.set()  # SIGTERM while the import waits in AC's queue
            return write(scores)

        job.crm.write_scores = write_then_sigterm
        outcome: list = []
        worker = threading.Thread(target=lambda: outcome.append(run_sync(job)), daemon=True)
        worker.start()
        worker.join(GRACE)
        assert outcome, f"the sync was still polling the import {GRACE} s after the stop"
        [report] = outcome
        assert report.status == "interrupted"
        assert len(store.failed_writes("nordic")) == 40  # recorded, retried next sync
        account.import_polls = 1
        again = run_sync(make_job(client, Settings(state_url=store.url), store,
                                  env={"TEST_TOKEN": "ac-tok"}))
        assert again.status == "ok" and not store.failed_writes("nordic")


def test_a_stop_does_not_wait_out_the_back_off_of_a_failing_crm(tmp_path):
    """Every request answers 503: the transport backs off (0.5, 1, 2, 4, 8 s ...); a stop
    ends the run at the next wait, recorded as interrupted, not as a failure later."""
    app = HubSpotSandbox(FaultPlan(server_error=1.0))
    app.add_account("tok-down", _account("down", 10, 2))
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    clients = tmp_path / "clients"
    clients.mkdir()
    with Server(app) as server:
        _client_file(clients, "down", server.url, "TOK_DOWN", 25)
        job = make_job(load_client(clients / "down.yaml"), Settings(state_url=store.url),
                       store, env={"TOK_DOWN": "tok-down"})
        outcome: list = []
        worker = threading.Thread(target=lambda: outcome.append(run_sync(job)), daemon=True)
        worker.start()
        time.sleep(1.0)  # inside the back-off
        job.stop.set()
        worker.join(GRACE / 2)
    assert outcome, "the sync was still backing off after the stop"
    [report] = outcome
    assert report.status == "interrupted" and report.stopped_during == "start"
    assert [r["status"] for r in store.last_runs("down")] == ["interrupted"]


def test_a_second_ctrl_c_quits_at_once_and_the_next_sync_takes_over(world):
    env, url = world["env"], world["url"]
    proc = _connector(env, "sync", "--client", "slow")
    _wait_for(lambda: _running(url, "slow"), what="the run to start")
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=GRACE)
    assert proc.returncode == 128 + signal.SIGINT
    world["slow_app"].faults.latency = 0.0
    world["smtp"].delay = 0
    again = subprocess.run([sys.executable, "-m", "connector.cli.__main__", "sync",
                            "--client", "slow"], env={**os.environ, **env},
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    store = open_store(url)
    assert [r["status"] for r in sorted(store.last_runs("slow", 5),
                                        key=lambda r: r["started_at"])] == ["interrupted", "ok"]


def test_runs_of_one_process_racing_for_a_lease_never_see_each_other_as_dead(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    for round_ in range(5):
        barrier = threading.Barrier(12)
        won: list[str] = []

        def race(client: str = f"r{round_}", barrier=barrier, won=won) -> None:
            holder = holder_name()
            barrier.wait()
            try:
                acquire(store, client, holder, 60, datetime.now(UTC))
                won.append(holder)
            except LeaseHeld:
                pass

        threads = [threading.Thread(target=race) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1, won
