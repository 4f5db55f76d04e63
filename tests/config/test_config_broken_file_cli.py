"""One broken client file never stops the commands of the other clients."""

from __future__ import annotations

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

_load_commands()
runner = CliRunner()
RULES = Path(__file__).resolve().parents[2] / "config" / "rules" / "default.yaml"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    sandbox = HubSpotSandbox()
    sandbox.add_account("tok-good-1234", HubSpotAccount("good", Population(20, seed=3),
                                                        plan="enterprise"))
    clients = tmp_path / "clients"
    clients.mkdir()
    with Server(sandbox) as server:
        (clients / "good.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "{server.url}", token_env: TOK_GOOD, plan: enterprise}}
rules: {RULES}
schedule: {{interval_minutes: 0.02}}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{enabled: false}}
notify: {{enabled: false}}
""")
        (clients / "broken.yaml").write_text("crm: {kind: hubspot\n")  # not valid YAML
        env = {"TOK_GOOD": "tok-good-1234", "CONNECTOR_CONFIG_DIR": str(clients),
               "CONNECTOR_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield env, clients


def test_sync_of_a_good_client_goes_on_and_warns_about_the_broken_file(folder):
    env, clients = folder
    result = runner.invoke(app, ["sync", "--client", "good"])
    assert result.exit_code == 0, result.output
    assert "good: sync ok" in result.output or "ok" in result.output
    assert "broken client file" in result.output
    assert str(clients / "broken.yaml") in result.output and "line 2" in result.output
    assert open_store(env["CONNECTOR_STATE_URL"]).get_bookmark("good", "contacts")


def test_the_broken_client_itself_gets_its_file_error_and_status_lists_it(folder):
    env, clients = folder
    own = runner.invoke(app, ["sync", "--client", "broken"])
    assert own.exit_code == 2
    assert f"{clients / 'broken.yaml'}: line 2" in own.output and "not valid YAML" in own.output
    assert "Traceback" not in own.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "broken client file (not synced)" in status.output
    assert "broken.yaml" in status.output
    as_json = runner.invoke(app, ["status", "--json"])
    assert as_json.exit_code == 0, as_json.output
    start = as_json.stdout.index("{")
    broken = json.loads(as_json.stdout[start:])["broken_client_files"]
    assert list(broken) == [str(clients / "broken.yaml")]


def test_run_runs_the_good_clients_and_reports_the_broken_file(folder, monkeypatch):
    env, clients = folder
    monkeypatch.delenv("TOK_UNSET", raising=False)
    no_token = (clients / "good.yaml").read_text().replace("TOK_GOOD", "TOK_UNSET")
    (clients / "no-token.yaml").write_text(no_token)  # loads, but cannot run
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli.__main__", "run"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    store = open_store(env["CONNECTOR_STATE_URL"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if store.get_bookmark("good", "contacts") is not None:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert store.get_bookmark("good", "contacts") is not None, output
    assert "broken client file" in output and "broken.yaml" in output
    assert "client no-token is not run" in output and "TOK_UNSET is not set" in output
    assert "Traceback" not in output
