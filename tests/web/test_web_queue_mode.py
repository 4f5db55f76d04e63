"""`connector serve --queue` in the web process: a burst of webhooks is one enqueued
targeted sync and no sync here; the marks stay for the worker; while a live run holds the
client's lease nothing is enqueued, and the client is enqueued once it is free."""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime

from connector.store import open_store
from connector.web.app import WebhookService

from ..e2e.helpers import settings
from .helpers import ENV, client, wait_for


def test_queue_mode_enqueues_one_sync_per_burst_and_waits_for_a_held_lease(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url)
    cfg = client("acme", "hubspot", "http://127.0.0.1:9", 2525, quiet=0.2, max_wait=1.0)
    queued: list[tuple[str, list[str]]] = []
    lock = threading.Lock()

    def enqueue(name: str) -> str:
        with lock:
            queued.append((name, sorted(store.dirty_contacts(name))))
            return f"task-{len(queued)}"

    service = WebhookService(settings(url), {"acme": cfg}, store, env=ENV, enqueue=enqueue)
    service.debouncer.tick = 0.01
    service.debouncer.busy_retry = 0.1
    service.debouncer.start()
    try:
        for cid in ("1", "2", "3"):
            service.debouncer.mark("acme", [cid], "hubspot webhook")
        assert wait_for(lambda: len(queued) == 1 and service.debouncer.idle(), 5)
        assert queued == [("acme", ["1", "2", "3"])]
        # the worker consumes the marks; this process ran no sync and cleared nothing
        assert set(store.dirty_contacts("acme")) == {"1", "2", "3"}
        assert store.last_runs("acme", 5) == []

        # a live run (a worker's sync, or the scheduled poll) holds the client: no task
        live = f"{socket.gethostname()}:{os.getppid()}:worker"
        store.acquire_lease("acme", live, 300, datetime.now(UTC))
        service.debouncer.mark("acme", ["4"], "hubspot webhook")
        assert not wait_for(lambda: len(queued) > 1, 1.0)
        store.release_lease("acme", live)
        assert wait_for(lambda: len(queued) == 2, 5)
        assert queued[1][1] == ["1", "2", "3", "4"]
        assert 'connector_targeted_syncs_queued_total{client="acme"} 2.0' in \
            service.metrics.render().decode()
    finally:
        service.debouncer.stop()
        store.close()
