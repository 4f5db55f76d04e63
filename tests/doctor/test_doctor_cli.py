"""`connector doctor` and the capabilities section of `connector status`, as a user runs
them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app
from connector.sandbox.hubspot import HubSpotAccount, HubSpotSandbox
from connector.sandbox.population import Population
from connector.sandbox.server import Server
from connector.sandbox.smtp_sink import SmtpSink

from ..e2e.helpers import client_yaml

_load_commands()
runner = CliRunner()
TOKEN = "pat-na1-doctor-cli-1"


@pytest.fixture
def portal(tmp_path, monkeypatch):
    sandbox = HubSpotSandbox()
    account = sandbox.add_account(TOKEN, HubSpotAccount("acme", Population(15, seed=4),
                                                        plan="enterprise",
                                                        ten_second_limit=10_000_000))
    clients = tmp_path / "clients"
    clients.mkdir()
    with Server(sandbox) as server, SmtpSink() as sink:
        text = client_yaml("hubspot", server.url, "TOK_ACME", sink.port)
        (clients / "acme.yaml").write_text(text.replace(" plan: enterprise,", ""))
        for key, value in {"TOK_ACME": TOKEN, "CONNECTOR_CONFIG_DIR": str(clients),
                           "CONNECTOR_STATE_URL": f"sqlite:///{tmp_path / 's.db'}"}.items():
            monkeypatch.setenv(key, value)
        yield sandbox, account, sink


def test_doctor_is_green_and_read_only_on_a_full_portal(portal):
    sandbox, _, sink = portal
    result = runner.invoke(app, ["doctor", "--client", "acme"])
    assert result.exit_code == 0, result.output
    assert "acme: 13 of 13 checks hold" in result.output
    assert "ok token and scopes" in result.output
    assert sandbox.ledger.count(method="PATCH") == sandbox.ledger.count(method="PUT") == 0
    assert sink.messages == []


def test_doctor_json_names_each_failing_row_and_exits_1(portal):
    _, account, _ = portal
    account.events_api = False
    result = runner.invoke(app, ["doctor", "--client", "acme", "--json"])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["ok"] is False
    [row] = [r for r in body["rows"] if r["status"] != "ok"]
    assert row["check"] == "events API (page views, forms)" and row["fix"]


def test_status_shows_what_was_detected_and_what_changed(portal):
    sandbox, account, _ = portal
    assert runner.invoke(app, ["sync", "--client", "acme"]).exit_code == 0
    account.events_api = False
    doctor = runner.invoke(app, ["doctor", "--client", "acme"])
    assert "changed since kept: events_api: yes -> no" in doctor.output
    assert "connector resync --full --client acme" in doctor.output
    resync = runner.invoke(app, ["resync", "--full", "--client", "acme"])
    assert "capabilities: changed since the detection of" in resync.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "capabilities (detected" in status.output
    assert "events_api no" in status.output
    assert "capabilities changed at" in status.output and "events_api: yes -> no" in \
        status.output
