"""A client whose file says ``dry_run: true`` changes nothing, whichever entrance runs its
sync (issue 23): `connector sync`, `connector resync --full`, `connector run`, the queue
worker and `connector serve`'s webhook sync each make 0 CRM writes, send 0 mails and leave
the state store row for row as it was.

Black box: the commands run as a person runs them (the CLI, or the process for the
long-running ones) against the HubSpot sandbox over HTTP, a real SMTP server and a SQLite
state file. So that no test passes because there was nothing to do, each first shows that
the same entrance does write scores, send invites and change state once the file says
``dry_run: false``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.models import Event, EventType
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink

from ..e2e.helpers import client_yaml
from ..queue.helpers import start_workers, stop
from ..web.helpers import warm_ready

_load_commands()
runner = CliRunner()

TOKEN = "tok-acme-dry"
SECRET = "app-secret-dry-7c1e"
WAIT = 120  # seconds: generous, for a busy machine
WARM = ("9001", "9002", "9003")  # fit 28 each: one contact form (15) makes them warm
# the POSTs of HubSpot's API that only read
READS_BY_POST = ("/crm/v3/objects/contacts/search",
                 "/oauth/v2/private-apps/get/access-token-info")


class World:
    """The acme client: a sandbox portal, an SMTP sink, a state file and the client file."""

    def __init__(self, tmp: Path, app_: HubSpotSandbox, account: HubSpotAccount, crm_url: str,
                 sink: SmtpSink) -> None:
        self.tmp, self.app, self.account = tmp, app_, account
        self.crm_url, self.sink = crm_url, sink
        self.folder = tmp / "clients"
        self.folder.mkdir()
        self.db = tmp / "state.db"
        self.env = {"ACME_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET,
                    "CONNECTOR_CONFIG_DIR": str(self.folder),
                    "CONNECTOR_STATE_URL": f"sqlite:///{self.db}"}
        self.events = 0

    def client_file(self, *, dry_run: bool, webhooks: bool = False) -> None:
        text = client_yaml("hubspot", self.crm_url, "ACME_TOKEN", self.sink.port)
        text += f"dry_run: {str(dry_run).lower()}\n"
        if webhooks:
            text += ("webhooks: {enabled: true, secret_env: WEBHOOK_SECRET, "
                     "quiet_seconds: 0.3, max_wait_seconds: 1}\n")
        (self.folder / "acme.yaml").write_text(text)

    def cli(self, *args: str) -> Any:
        return runner.invoke(app, list(args), env=self.env)

    def process(self, *args: str) -> Process:
        return Process(self.tmp, {**os.environ, **self.env}, list(args))

    def contact_form(self, cid: str) -> None:
        """The contact sends the contact form now (+15: warm)."""
        self.events += 1
        self.account.add_event(Event(f"form-{cid}-{self.events}", cid,
                                     EventType.FORM_SUBMISSION, datetime.now(UTC),
                                     name="contact-form",
                                     url="https://www.example-agency.com/contact"))

    def writes(self) -> list[str]:
        """Every request to the CRM that could change it (a non-GET that is not a read)."""
        return [f"{e.method} {e.path}" for e in list(self.app.ledger.entries)
                if e.method != "GET" and not e.path.startswith(READS_BY_POST)]

    def mails(self) -> list[str]:
        return [str(m["To"]) for m in list(self.sink.messages)]

    def state(self, *, leave_out: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
        """Every row of every table of the state store (``leave_out``: these tables)."""
        with sqlite3.connect(self.db) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            return {table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(),
                                  key=repr)
                    for table in tables if table not in leave_out}


class Process:
    """A `connector` command running in its own process; its output goes to a file."""

    def __init__(self, tmp: Path, env: dict[str, str], args: list[str]) -> None:
        self.log = tmp / f"{args[0]}-{time.monotonic_ns()}.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "connector.cli.__main__",
                                          *args], env=env, stdout=out,
                                         stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not check():
            assert self.proc.poll() is None, f"the process ended: {self.output()}"
            assert time.monotonic() < deadline, f"{what} never came: {self.output()}"
            time.sleep(0.2)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        """SIGTERM, as a service manager stops it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    """acme after its first real sync: three leads stored and scored 28 (not warm), no
    invite yet. One contact form each would make them warm: a real sync would then write
    their scores and invite them."""
    app_ = HubSpotSandbox()
    account = app_.add_account(TOKEN, HubSpotAccount("acme", plan="enterprise",
                                                     ten_second_limit=100_000,
                                                     search_per_second=100_000))
    for cid in WARM:
        account.add_contact(warm_ready(cid))
    with Server(app_) as crm, SmtpSink() as sink:
        w = World(tmp_path, app_, account, crm.url, sink)
        w.client_file(dry_run=False)
        first = w.cli("sync", "--client", "acme")
        assert first.exit_code == 0, first.output
        assert [account.score_of(cid, "connector_lead_score") for cid in WARM] == ["28"] * 3
        assert w.mails() == []
        yield w


def _dry_then_real(w: World, run: Callable[[bool], None], *, webhooks: bool = False,
                   leave_out: tuple[str, ...] = ()) -> None:
    """``run(dry)`` the entrance on the dry-run client file: nothing changes. Then on the
    real one: scores are written, invites sent, state changed (so the first half was not
    vacuous)."""
    w.client_file(dry_run=True, webhooks=webhooks)
    before = w.state(leave_out=leave_out)
    w.app.ledger.clear()
    run(True)
    assert w.writes() == [], "a dry run wrote to the CRM"
    assert w.mails() == [], "a dry run sent mail"
    assert w.state(leave_out=leave_out) == before, "a dry run changed the state store"
    assert [w.account.score_of(cid, "connector_lead_score") for cid in WARM] == ["28"] * 3

    w.client_file(dry_run=False, webhooks=webhooks)
    run(False)
    assert "POST /crm/v3/objects/contacts/batch/update" in w.writes()
    assert sorted(w.mails()) == sorted(f"lead{cid}@lund.dk" for cid in WARM)
    assert w.state(leave_out=leave_out) != before


def _warm_all(w: World) -> None:
    for cid in WARM:
        w.contact_form(cid)


def test_sync_of_a_dry_run_client_writes_nothing_mails_nothing_changes_no_state(world):
    _warm_all(world)

    def sync(dry: bool) -> None:
        result = world.cli("sync", "--client", "acme")
        assert result.exit_code == 0, result.output

    _dry_then_real(world, sync)


def test_full_resync_of_a_dry_run_client_writes_nothing_mails_nothing_changes_no_state(world):
    _warm_all(world)

    def resync(dry: bool) -> None:
        result = world.cli("resync", "--client", "acme", "--full")
        assert result.exit_code == 0, result.output

    _dry_then_real(world, resync)


def test_run_of_a_dry_run_client_writes_nothing_mails_nothing_changes_no_state(world):
    """`connector run --now` syncs the client at start; it is stopped after that run."""
    _warm_all(world)

    def run(dry: bool) -> None:
        with world.process("run", "--now") as proc:
            proc.wait_for(lambda: re.search(r"^acme: ok: ", proc.output(), re.M) is not None,
                          "the run's report line")
        assert proc.proc.returncode == 0, proc.output()

    _dry_then_real(world, run)


def test_queue_worker_on_a_dry_run_client_writes_nothing_mails_nothing_changes_no_state(
        world, queue):
    """A `connector worker` runs the sync task the scheduler enqueues; it reads the client
    file for each task, so one worker serves both halves."""
    from connector.queue import app as queue_app
    from connector.queue.producer import enqueue

    _warm_all(world)
    env = {**os.environ, **world.env, "CONNECTOR_QUEUE_URL": queue.url,
           "CONNECTOR_QUEUE_NAME": queue.name}
    queue_app.configure(queue.url, 60, queue.name)
    workers = start_workers(world.tmp, env, 1, 1)
    [(worker, log)] = workers
    ended = 0

    def task(dry: bool) -> None:
        nonlocal ended
        enqueue("acme")
        ended += 1
        deadline = time.monotonic() + WAIT
        while log.read_text().count("client acme: ") < ended:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the task never ended: {log.read_text()}"
            time.sleep(0.2)

    try:
        _dry_then_real(world, task)
    finally:
        stop([worker])
    ends = re.findall(r"client acme: .*$", log.read_text(), re.M)
    assert len(ends) == 2 and all(": ok: " in line for line in ends), ends


def test_webhook_server_on_a_dry_run_client_writes_nothing_mails_nothing_changes_no_state(
        world):
    """`connector serve` gets the portal's signed webhooks for the leads' contact forms and
    runs their targeted sync. A webhook's dirty mark is the server's receipt, written before
    any sync, so the dirty marks are left out of the comparison."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    def serve(dry: bool) -> None:
        with world.process("serve", "--port", str(port)) as proc:
            proc.wait_for(lambda: _answers(f"{base}/healthz"), "/healthz")
            hooks = world.account.send_webhooks(f"{base}/webhooks/hubspot/acme", SECRET)
            try:
                _warm_all(world)
                proc.wait_for(lambda: _answered(hooks) >= set(WARM), "the webhooks' answers")
                if dry:  # nothing to see: wait for the sync to end
                    proc.wait_for(lambda: _synced(base)
                                  or "targeted sync of acme" in proc.output(),
                                  "the end of the targeted sync")
                else:
                    proc.wait_for(lambda: len(world.mails()) >= len(WARM), "the invites")
            finally:
                hooks.close()

    _dry_then_real(world, serve, webhooks=True, leave_out=("dirty_contacts",))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answered(hooks: Any) -> set[str]:
    """The contacts of the webhooks the server accepted so far."""
    return {str(event["objectId"]) for d in list(hooks.deliveries) if d.status == 200
            for event in d.payload}


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


SYNCED = re.compile(r'^connector_syncs_total\{client="acme",[^}]*\} ([0-9.]+)$', re.M)


def _synced(base: str) -> bool:
    """The server counted a finished targeted sync of acme (GET /metrics)."""
    try:
        text = requests.get(f"{base}/metrics", timeout=5).text
    except requests.RequestException:
        return False
    return any(float(n) >= 1 for n in SYNCED.findall(text))
