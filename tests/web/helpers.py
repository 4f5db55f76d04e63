"""A sandbox CRM, an SMTP sink, a state store and `connector serve` on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from connector.config import ClientConfig
from connector.models import Contact
from connector.store import open_store
from connector.sync import run_sync
from connector.sync.runtime import client_runtime
from connector.web.app import WebhookService
from connector.web.serve import Background

from ..e2e.helpers import client_config, settings

TOKEN = "web-test-token"
SECRET = "app-secret-3f9c2a"
ENV = {"TEST_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET}
FAST = {"requests_per_second": 1000}


def warm_ready(cid: str) -> Contact:
    """Fit 28 (title, size, industry, country): one contact form (15) makes them warm."""
    email = f"lead{cid}@lund.dk"
    return Contact(id=cid, email=email, fields={
        "email": email, "first_name": "Maja", "last_name": f"Lund {cid}", "company": "Lund ApS",
        "job_title": "CEO", "company_size": "120", "industry": "Software", "country": "DK"})


def client(name: str, kind: str, crm_url: str, smtp_port: int, *, enabled: bool = False,
           quiet: float = 0.3, max_wait: float = 1.0, **crm: Any) -> ClientConfig:
    return client_config(name, kind, crm_url, smtp_port,
                         crm={"rate_limit": FAST, **crm},
                         webhooks={"enabled": enabled, "secret_env": "WEBHOOK_SECRET",
                                   "quiet_seconds": quiet, "max_wait_seconds": max_wait})


def full_sync(cfg: ClientConfig, store_url: str, store: Any) -> Any:
    with client_runtime(cfg, settings(store_url), store, env=ENV) as job:
        return run_sync(job, full=True)


def poll(cfg: ClientConfig, store_url: str, store: Any) -> Any:
    with client_runtime(cfg, settings(store_url), store, env=ENV) as job:
        return run_sync(job)


def serve(cfg: ClientConfig, store_url: str, store: Any) -> Background:
    service = WebhookService(settings(store_url), {cfg.name: cfg}, store, env=ENV)
    return Background(service)


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def invites(sink: Any) -> list:
    """The invites in the SMTP sink so far."""
    return [m for m in list(sink.messages) if ":invite:" in m["X-Connector-Key"]]


class InviteWatch:
    """When each invite first shows in the sink, by recipient (polled every 10 ms)."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.first: dict[str, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.done.is_set():
            now = time.time()
            for message in invites(self.sink):
                self.first.setdefault(str(message["To"]), now)
            time.sleep(0.01)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


__all__ = [
    "ENV",
    "SECRET",
    "TOKEN",
    "InviteWatch",
    "client",
    "full_sync",
    "invites",
    "open_store",
    "poll",
    "serve",
    "wait_for",
    "warm_ready",
]
