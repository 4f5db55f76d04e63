"""`connector serve` as a user runs it: a client file with a webhooks section, the secret
in the environment; /healthz answers; SIGTERM stops it cleanly. A webhooks section that
turns the setting on without naming the secret's variable is one clear error."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connector.config import load_client
from connector.errors import ConfigError

from ..e2e.helpers import RULES

CLIENT = f"""name: acme
crm: {{kind: hubspot, base_url: "http://127.0.0.1:9", token_env: TEST_TOKEN}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
webhooks:
  secret_env: WEBHOOK_SECRET_ACME
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_healthz_and_stops_on_sigterm(tmp_path):
    config = tmp_path / "clients"
    config.mkdir()
    (config / "acme.yaml").write_text(CLIENT)
    port = _free_port()
    env = {**os.environ, "TEST_TOKEN": "t", "WEBHOOK_SECRET_ACME": "s3cret-path",
           "CONNECTOR_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--config-dir",
                             str(config), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "connector serve did not start"
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    # uvicorn shuts down (lifespan end: the debouncer stops), then re-raises the signal
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "webhooks for: acme" in out
    assert "s3cret-path" not in out + err
    assert "Traceback" not in err


def test_webhooks_enabled_without_a_secret_variable_is_one_clear_error(tmp_path):
    path = Path(tmp_path / "acme.yaml")
    path.write_text(CLIENT.replace("  secret_env: WEBHOOK_SECRET_ACME", "  enabled: true"))
    with pytest.raises(ConfigError) as caught:
        load_client(path)
    message = str(caught.value)
    assert "acme.yaml" in message and "webhooks.secret_env" in message
    assert "fix:" in message
