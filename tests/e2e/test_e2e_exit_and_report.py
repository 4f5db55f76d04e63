"""What a new user meets (issue 22): the exit status of a run that left work undone, the
report of waiting and failed actions, and the demo (a wrong token under `connector run`:
tests/e2e/test_e2e_cli.py).

Real processes against the HubSpot sandbox; the SMTP server is down (a closed port)."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.cli import common
from connector.models import Contact, Event, EventType
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.server import Server
from connector.store import open_store

from .helpers import client_yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://lund.dk"


def _cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "connector.cli.__main__", *args],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _warm_lead(cid: str, email: str | None, now: datetime) -> tuple[Contact, list[Event]]:
    """A lead who turns warm at once: contact page (10) and four service pages (20)."""
    fields = {"email": email, "first_name": "Maja", "last_name": "Lund", "company": "Lund ApS"}
    events = [Event(f"{cid}-c", cid, EventType.PAGE_VIEW, now - timedelta(hours=9),
                    url=f"{SITE}/contact")]
    events += [Event(f"{cid}-s{i}", cid, EventType.PAGE_VIEW, now - timedelta(hours=8, minutes=i),
                     url=f"{SITE}/services/s{i}") for i in range(4)]
    return Contact(id=cid, email=email, fields=fields), events


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_down(tmp_path_factory):
    """Three warm leads and a warm lead without email; the SMTP server is down. Runs
    sync, sync again and resync --full, as cron would, and keeps what each printed."""
    tmp = tmp_path_factory.mktemp("smtp-down")
    app_ = HubSpotSandbox()
    account = app_.add_account("tok-acme-1234", HubSpotAccount(
        "acme", None, plan="enterprise", ten_second_limit=10**6, search_per_second=10**6))
    now = datetime.now(UTC)
    for cid in ("21", "22", "23"):
        account.add_contact(*_warm_lead(cid, f"lead{cid}@example.com", now))
    account.add_contact(*_warm_lead("24", None, now))
    clients = tmp / "clients"
    clients.mkdir()
    port = _closed_port()
    with Server(app_) as server:
        (clients / "acme.yaml").write_text(client_yaml("hubspot", server.url, "TOK_ACME", port))
        env = {"TOK_ACME": "tok-acme-1234", "CONNECTOR_CONFIG_DIR": str(clients),
               "CONNECTOR_LOG_LEVEL": "WARNING",
               "CONNECTOR_STATE_URL": f"sqlite:///{tmp / 'state.db'}"}
        runs = {"first": _cli(env, "sync", "--client", "acme"),
                "second": _cli(env, "sync", "--client", "acme"),
                "resync": _cli(env, "resync", "--client", "acme", "--full")}
    yield runs, port, open_store(env["CONNECTOR_STATE_URL"])


# -- item 3: a run that left work undone exits with its own status ----------------------------
def test_sync_and_resync_that_left_invites_unsent_exit_5(smtp_down):
    runs, _, store = smtp_down
    for name, proc in runs.items():
        assert proc.returncode == 5, (name, proc.returncode, proc.stdout, proc.stderr)
        assert "exit status 5: the run finished but left work undone" in proc.stderr, name
        assert "Traceback" not in proc.stdout + proc.stderr
    # the second sync did nothing wrong itself, but 3 invites still wait and 1 failed
    assert any(line.startswith("acme: ok: 4 pulled") for line in
               runs["second"].stdout.splitlines()), runs["second"].stdout
    assert sorted(e.status for e in store.outbox("acme")) == ["failed"] + ["pending"] * 3


def test_every_exit_status_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    assert "### Exit status" in readme
    section = readme.split("### Exit status", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1].strip() for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| status")]
    codes = {getattr(common, n) for n in dir(common) if n.startswith("EXIT_")}
    assert set(rows) == {"0", "128 + N"} | {str(c) for c in codes if c != common.EXIT_SIGNAL}
    assert common.EXIT_SIGNAL == 128


# -- item 9: the report names what waits and what failed, with the command ---------------------
def test_the_report_lists_waiting_and_failed_actions_with_reason_and_command(smtp_down):
    runs, port, store = smtp_down
    [failed] = store.outbox("acme", ["failed"])
    for name in ("first", "second"):
        out = runs[name].stdout
        text = _flat(out)
        assert (f"waiting: 3 invite action(s), not sent yet: SMTP 127.0.0.1:{port}: "
                "connection refused") in text, out
        assert "contacts 21, 22, 23;" in text
        assert "see `connector actions list --client acme --status pending`" in text
        assert (f"failed: 1 invite action(s) for contact 24 (Maja Lund, no email; outbox id "
                f"{failed.id}), not sent:") in text, out
        assert "the contact has no email address" in text
        assert f"run `connector actions retry --client acme --id {failed.id}`" in text
        # one line per group, each starting with its state
        assert sum(line.startswith("  waiting:") for line in out.splitlines()) == 1
        assert sum(line.startswith("  failed:") for line in out.splitlines()) == 1


# -- item 12: the demo ----------------------------------------------------------------------
def _shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    assert not re.match(r"(\S+=\S+ )*connector ", command), command  # not a bare name
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_demo_exits_0_explains_the_guard_and_its_hints_work_as_printed(tmp_path,
                                                                      monkeypatch):
    script = Path(sys.executable).parent / "connector"
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"  # the virtual environment is not active
    state = tmp_path / "connector-demo.db"
    # as the README has it: in the project folder, `.venv/bin/connector demo`
    demo = subprocess.run([os.path.relpath(script, ROOT), "demo", "--state", str(state)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "(exit code 4)" not in demo.stdout  # nothing failed: the guard is explained
    lines = demo.stdout.splitlines()
    notes = [line for line in lines if line.startswith("note: the run guard")]
    assert len(notes) == 2 and all("exits with status 4" in n for n in notes), demo.stdout
    [hint] = [line for line in lines if "next, try: " in line]
    leads = hint.split("next, try: ", 1)[1]
    where = os.path.relpath(script, ROOT)
    assert shlex.split(leads)[1] == (str(script) if where.startswith("..") else where)
    shown = _shell(leads, ROOT, env)
    assert shown.returncode == 0 and "acme-hubspot: who to call today" in shown.stdout, \
        shown.stdout + shown.stderr
    held = _shell(notes[0].split("see them with: ", 1)[1], ROOT, env)
    assert held.returncode == 0 and "acme-hubspot: 6 action(s) (held)" in held.stdout, \
        held.stdout + held.stderr

    # the same hint printed in another folder names the demo's client files too
    from connector.cli.demo_run import state_command

    monkeypatch.chdir(tmp_path)
    elsewhere = state_command(state, "leads --client nordic-ac")
    shown = _shell(elsewhere, tmp_path, env)
    assert shown.returncode == 0 and "nordic-ac: who to call today" in shown.stdout, \
        shown.stdout + shown.stderr
