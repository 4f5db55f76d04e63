"""The commands an agency runs, as a user runs them."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.store import open_store

from .helpers import RULES

_load_commands()
runner = CliRunner()


def client_file(folder: Path, name: str, url: str, token_env: str, interval: float = 15) -> None:
    (folder / f"{name}.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "{url}", token_env: {token_env}, plan: enterprise}}
rules: {RULES}
schedule: {{interval_minutes: {interval}}}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{enabled: false}}
notify: {{enabled: false}}
""")


@pytest.fixture
def portal(tmp_path, monkeypatch):
    app_ = HubSpotSandbox()
    app_.add_account("tok-acme-1234", HubSpotAccount("acme", Population(40, seed=1),
                                                     plan="enterprise"))
    app_.add_account("tok-beta-5678", HubSpotAccount("beta", Population(30, seed=2),
                                                     plan="enterprise"))
    clients = tmp_path / "clients"
    clients.mkdir()
    with Server(app_) as server:
        client_file(clients, "acme", server.url, "TOK_ACME")
        client_file(clients, "beta", server.url, "TOK_BETA")
        env = {"TOK_ACME": "tok-acme-1234", "TOK_BETA": "tok-beta-5678",
               "CONNECTOR_CONFIG_DIR": str(clients),
               "CONNECTOR_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield app_, server, env, tmp_path


def test_demo_ends_with_the_leaderboard(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--contacts", "60"])
    assert result.exit_code == 0, result.output
    assert "who to call today" in result.output
    assert "invites sent in the salesperson's name" in result.output
    assert "connector-demo.db" in result.output


def test_sync_status_leads_and_explain(portal):
    app_, server, env, tmp = portal
    result = runner.invoke(app, ["sync", "--client", "acme"])
    assert result.exit_code == 0, result.output
    assert "acme: ok: 40 pulled" in result.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0 and "acme" in status.output
    leads = runner.invoke(app, ["leads", "--client", "acme", "--top", "5", "--json"])
    top = json.loads(leads.output)
    assert len(top) == 5 and top[0]["score"] >= top[-1]["score"]
    explain = runner.invoke(app, ["explain", "--client", "acme", top[0]["contact_id"]])
    assert explain.exit_code == 0 and f"{top[0]['score']} points" in explain.output
    assert "tok-acme-1234" not in result.output + status.output + explain.output


def test_dry_run_prints_the_plan_and_writes_nothing(portal):
    app_, server, env, tmp = portal
    result = runner.invoke(app, ["resync", "--client", "beta", "--full", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "planned changes, none made" in result.output
    assert app_.ledger.count("/crm/v3/objects/contacts/batch/update") == 0
    assert app_.ledger.count("/crm/v3/properties/contacts", method="POST") == 0


def test_unknown_client_and_missing_token_are_clear(portal, monkeypatch):
    result = runner.invoke(app, ["sync", "--client", "gamma"])
    assert result.exit_code == 2 and "no client named 'gamma'" in result.output
    monkeypatch.delenv("TOK_BETA")
    result = runner.invoke(app, ["sync", "--client", "beta"])
    assert result.exit_code == 2 and "TOK_BETA is not set" in result.output


def test_json_logs_carry_client_and_run_id_and_no_token(portal):
    app_, server, env, tmp = portal
    proc = subprocess.run([sys.executable, "-m", "connector.cli.__main__", "sync", "--client",
                           "acme", "--log-format", "json", "--json"],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    started = [rec for rec in lines if rec["message"].endswith("started")]
    assert started and started[0]["client"] == "acme" and started[0]["run_id"] not in ("-", "")
    assert "tok-acme-1234" not in proc.stderr + proc.stdout


def test_bad_token_fails_with_the_fix_and_no_secret(portal, monkeypatch):
    monkeypatch.setenv("TOK_BETA", "tok-wrong-0000")
    result = runner.invoke(app, ["sync", "--client", "beta"])
    assert result.exit_code == 1
    assert "check the token for client 'beta'" in result.output
    assert "tok-wrong-0000" not in result.output


def test_run_syncs_both_clients_repeatedly_and_stops_cleanly_on_sigterm(portal):
    app_, server, env, tmp = portal
    clients = Path(env["CONNECTOR_CONFIG_DIR"])
    client_file(clients, "acme", server.url, "TOK_ACME", interval=0.05)  # every 3 s
    client_file(clients, "beta", server.url, "TOK_BETA", interval=0.05)
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli.__main__", "run"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = env["CONNECTOR_STATE_URL"]
    try:
        # three finished runs each (a busy machine starts the process and runs the syncs
        # later than a quiet one: wait for them, not a fixed 20 s)
        deadline = time.monotonic() + 180
        while min(_ok_runs(url, "acme"), _ok_runs(url, "beta")) < 3:
            assert time.monotonic() < deadline and proc.poll() is None, "too few runs"
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "stopped cleanly" in output
    store = open_store(env["CONNECTOR_STATE_URL"])
    for name in ("acme", "beta"):
        runs = sorted(store.last_runs(name, 100), key=lambda r: r["started_at"])
        assert len(runs) >= 3, output
        # the SIGTERM may land inside the last run: it then says so
        assert all(r["status"] == "ok" for r in runs[:-1])
        assert runs[-1]["status"] in ("ok", "interrupted")
        for earlier, later in itertools.pairwise(runs):
            assert earlier["finished_at"] <= later["started_at"]  # never overlapping
        assert store.get_bookmark(name, "contacts") is not None


def _ok_runs(url: str, client: str) -> int:
    store = open_store(url)
    try:
        return sum(1 for r in store.last_runs(client, 100) if r["status"] == "ok")
    finally:
        store.close()


def _last_status(url: str, client: str) -> str | None:
    store = open_store(url)
    try:
        runs = store.last_runs(client, 1)
        return runs[0]["status"] if runs else None
    finally:
        store.close()


def test_run_with_one_wrong_token_says_so_in_one_line_and_the_others_go_on(portal):
    """Issue 22, item 2: one line (client, what failed, fix), no traceback, the other client
    syncs, and the summary at Ctrl-C says the client's last run failed and why."""
    app_, server, env, tmp = portal
    env = {**env, "TOK_BETA": "tok-wrong-0000"}
    url = env["CONNECTOR_STATE_URL"]
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli.__main__", "run", "--now"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while (_last_status(url, "acme"), _last_status(url, "beta")) != ("ok", "failed"):
            assert time.monotonic() < deadline and proc.poll() is None, "the runs never ended"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert "Traceback" not in out + err
    assert "tok-wrong-0000" not in out + err
    lines = out.splitlines()
    [failed] = [line for line in lines if line.startswith("beta: failed:")]
    assert "(HTTP 401)" in failed and failed.endswith("fix: check the token for client 'beta'")
    assert any(line.startswith("acme: ok: 40 pulled") for line in lines), out
    # the summary at Ctrl-C tells the truth for both
    summary = lines[lines.index("stopped cleanly (no sync left running); per client:"):]
    [beta] = [line for line in summary if line.startswith("  beta:")]
    assert beta.startswith("  beta: last run failed (") and "check the token" in beta, out
    assert "no run in this session" not in out
    [acme] = [line for line in summary if line.startswith("  acme:")]
    assert acme.startswith("  acme: last run ok") and "bookmark saved" in acme
