"""`connector run --queue` as a producer, and `connector worker`'s user errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from connector.cli import _load_commands, app

from ..e2e.helpers import RULES

_load_commands()
runner = CliRunner()


def _client_file(folder, name: str, interval: int) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "http://127.0.0.1:9", token_env: {name.upper()}_TOKEN}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{enabled: false}}
notify: {{enabled: false}}
unsubscribe: {{enabled: false}}
schedule: {{interval_minutes: {interval}}}
""")


def test_run_with_a_queue_enqueues_one_task_per_due_client_instead_of_syncing(
        tmp_path, queue):
    import redis

    folder = tmp_path / "clients"
    _client_file(folder, "acme", 15)
    _client_file(folder, "globex", 30)
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(folder), "ACME_TOKEN": "pat-a",
           "GLOBEX_TOKEN": "pat-g", "CONNECTOR_QUEUE_NAME": queue.name, "CONNECTOR_STATE_URL": f"sqlite:///{tmp_path}/s.db"}
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli.__main__", "run", "--now",
                             "--queue", queue.url], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    conn = redis.Redis.from_url(queue.url)
    key = queue.key(queue.name)  # the queue's list, under its key prefix
    try:
        deadline = time.monotonic() + 30
        while conn.llen(key) < 2 and proc.poll() is None:
            assert time.monotonic() < deadline, "no tasks were queued"
            time.sleep(0.2)
        time.sleep(0.5)  # nothing more is queued: one task per client
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "queueing 2 client(s)" in output
    messages = [json.loads(raw) for raw in conn.lrange(key, 0, -1)]
    assert sorted(m["headers"]["argsrepr"] for m in messages) == ["['acme']", "['globex']"]
    assert {m["headers"]["task"] for m in messages} == {"connector.sync"}
    assert all(m["headers"]["expires"] for m in messages)  # a backlog never stacks runs


def test_worker_without_a_queue_or_with_a_non_redis_url_says_what_to_set(tmp_path):
    result = runner.invoke(app, ["worker", "--config-dir", str(tmp_path)],
                           env={"CONNECTOR_QUEUE_URL": ""})
    assert result.exit_code != 0
    assert "no queue given" in result.output and "CONNECTOR_QUEUE_URL" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["worker", "--config-dir", str(tmp_path), "--broker",
                                 "amqp://guest:s3cret@127.0.0.1//"])
    assert result.exit_code != 0
    assert "is not a Redis URL" in result.output and "s3cret" not in result.output


def test_worker_names_an_unreachable_redis_and_how_to_start_it(tmp_path):
    result = runner.invoke(app, ["worker", "--config-dir", str(tmp_path), "--broker",
                                 "redis://127.0.0.1:9/0"])
    assert result.exit_code != 0
    assert "cannot reach the queue at redis://127.0.0.1:9/0" in result.output
    assert "redis-server" in result.output


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
