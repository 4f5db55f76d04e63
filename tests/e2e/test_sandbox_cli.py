"""`connector sandbox`: both CRMs and the SMTP sink where the example clients point, so a
first sync of one's own sends its invites (issue 22, item 5)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from connector.config import load_client
from connector.sandbox.local import Served, instructions

from .sandbox_process import CONNECTOR, running_sandbox

ROOT = Path(__file__).resolve().parents[2]


def _work_dir(tmp_path: Path) -> Path:
    """A working directory with the shipped example clients and rules, as in a checkout."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path


def _connector(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONNECTOR), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **env, "COLUMNS": "200"}, timeout=240)


@pytest.mark.usefixtures("example_ports")
@pytest.mark.timeout(900)  # with the time another run of the suite holds the ports
def test_example_clients_sync_against_the_sandbox_and_invites_reach_its_sink(tmp_path):
    work = _work_dir(tmp_path)
    # the example's first sync only lists the leads already warm (first_sync: baseline);
    # `act` invites them at once, as the demo does, so that the sink has mail to receive
    nordic = work / "config" / "clients" / "nordic-ac.yaml"
    nordic.write_text(nordic.read_text().replace("first_sync: baseline", "first_sync: act"))
    assert "first_sync: act" in nordic.read_text()
    env = {"CONNECTOR_STATE_URL": f"sqlite:///{work / 'state.db'}"}
    with running_sandbox(work, "--crm", "both", "--smtp", "--contacts", "40") as sandbox:
        out = sandbox.output()
        assert "HubSpot sandbox on http://127.0.0.1:8765" in out
        assert "ActiveCampaign sandbox on http://127.0.0.1:8766" in out
        assert "SMTP sink on smtp://127.0.0.1:8025" in out
        # exactly the variables the example clients name, and nothing to change in them
        exports = sandbox.exports()
        assert set(exports) == {"HUBSPOT_TOKEN_ACME", "AC_TOKEN_NORDIC"}, out
        assert "set crm.base_url" not in out and "set smtp" not in out
        assert "narrows" not in out and "None" not in out  # the example sets no crm.plan
        for client in ("acme-hubspot", "nordic-ac"):
            result = _connector(work, {**env, **exports}, "sync", "--client", client)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "40 scored" in result.stdout
        sent = _connector(work, env, "actions", "list", "--client", "nordic-ac",
                          "--status", "sent")
        assert "invite" in sent.stdout, sent.stdout
        waiting = _connector(work, env, "actions", "list", "--client", "nordic-ac")
        assert "0 action(s)" in waiting.stdout, waiting.stdout  # none pending or failed
        # the invites arrived: the sandbox prints each message its sink receives
        sandbox.wait_for("shall we talk")
        invites = [line for line in sandbox.lines if "shall we talk" in line]
        assert invites and all("sales@example-agency.com" in line for line in invites)
    assert "stopped" in sandbox.output()


def test_one_crm_without_sink_says_where_invites_go(tmp_path):
    work = _work_dir(tmp_path)
    with running_sandbox(work, "--crm", "activecampaign", "--contacts", "5",
                         "--ac-port", "0") as sandbox:
        out = sandbox.output()
        assert "ActiveCampaign sandbox on http://127.0.0.1:" in out
        assert "HubSpot" not in out
        assert "no SMTP sink" in out
        # served on another port than the example client's: the sandbox says what to change
        assert "nordic-ac: export AC_TOKEN_NORDIC=ac-sandbox-token; set crm.base_url" in out


def test_unknown_crm_is_a_clear_error(tmp_path):
    result = _connector(_work_dir(tmp_path), {}, "sandbox", "--crm", "pipedrive")
    assert result.returncode == 2
    assert "--crm 'pipedrive' is not one of hubspot, activecampaign, both" in result.stderr


def test_a_port_in_use_names_the_server_and_option(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _connector(_work_dir(tmp_path), {}, "sandbox", "--crm", "hubspot",
                            "--port", str(port))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"--port: HubSpot sandbox cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_instructions_name_what_a_client_file_must_change():
    acme = load_client(ROOT / "config" / "clients" / "acme-hubspot.yaml")
    served = Served("HubSpot sandbox", "http://127.0.0.1:9999", "pat-sandbox-token", "hubspot",
                    "enterprise")
    starter = acme.model_copy(update={"crm": acme.crm.model_copy(update={"plan": "starter"})})
    lines = instructions(served, {"acme-hubspot": starter})
    assert lines[1] == ("acme-hubspot: export HUBSPOT_TOKEN_ACME=pat-sandbox-token; set "
                        "crm.base_url: http://127.0.0.1:9999 (it has http://127.0.0.1:8765) "
                        "(its crm.plan: starter narrows what is read from this enterprise "
                        "portal; leave it out to read it all)")
    sink = instructions(Served("SMTP sink", "smtp://127.0.0.1:2525"), {"acme-hubspot": acme})
    assert sink[1] == "acme-hubspot: set smtp.host: 127.0.0.1 and smtp.port: 2525 (it has " \
                      "127.0.0.1:8025)"
