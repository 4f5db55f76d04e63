"""The sync task in process (eager): a client whose lease a live run holds is not synced."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from connector.config import Settings
from connector.queue import tasks
from connector.store import open_store

from ..e2e.helpers import RULES


def test_a_client_held_by_a_live_run_is_retried_then_skipped_never_synced_twice(
        tmp_path, monkeypatch):
    folder = tmp_path / "clients"
    folder.mkdir()
    (folder / "acme.yaml").write_text(f"""\
crm: {{kind: hubspot, base_url: "http://127.0.0.1:9", token_env: ACME_TOKEN}}
rules: {RULES}
owner_fallback: {{name: Linnea Berg, email: linnea@example-agency.com}}
invite: {{enabled: false}}
notify: {{enabled: false}}
unsubscribe: {{enabled: false}}
""")
    monkeypatch.setenv("ACME_TOKEN", "pat-acme")
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    live = f"{socket.gethostname()}:{os.getppid()}:otherrun"  # a live process on this host
    store.acquire_lease("acme", live, 300, datetime.now(UTC))
    monkeypatch.setattr(tasks, "_settings", Settings(state_url=url, config_dir=folder))

    result = tasks.sync_client.apply(args=["acme"]).get()

    assert result == {"client": "acme", "status": "skipped"}
    assert store.last_runs("acme", 5) == []  # no run started: no CRM call was made
    assert store.lease_holder("acme")[0] == live


def test_a_task_for_an_unknown_or_unsafe_client_name_is_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(tasks, "_settings", Settings(
        state_url=f"sqlite:///{tmp_path / 'state.db'}", config_dir=tmp_path))
    for name in ("nobody", "../etc/passwd"):
        assert tasks.sync_client.apply(args=[name]).get()["status"] == "config error"


def test_a_worker_shutting_down_asks_its_running_syncs_to_stop_between_requests():
    import threading

    from celery import signals

    stop = threading.Event()
    tasks._running.add(stop)  # what sync_client registers while its sync runs
    try:
        signals.worker_shutting_down.send(sender="connector-1@host", sig="SIGTERM",
                                          how="Warm", exitcode=0)
        assert stop.is_set()  # run_sync's job.stop: saves what finished, then returns
    finally:
        tasks._running.discard(stop)
