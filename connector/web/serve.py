"""Serving the app with uvicorn: in the foreground (``connector serve``) or on a thread
(tests, the sandboxes' end-to-end checks). No access log: ActiveCampaign's webhook URLs
hold a secret."""

from __future__ import annotations

import threading
import time

import uvicorn

from connector.web.app import WebhookService, create_app


def config(service: WebhookService, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(create_app(service), host=host, port=port, access_log=False,
                          log_level="warning", lifespan="on")


def serve(service: WebhookService, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until SIGINT / SIGTERM (uvicorn handles both and runs the lifespan's end)."""
    uvicorn.Server(config(service, host, port)).run()


class Background:
    """``with Background(service) as server: server.url`` (a free loopback port)."""

    def __init__(self, service: WebhookService, host: str = "127.0.0.1", port: int = 0) -> None:
        self.service = service
        self.server = uvicorn.Server(config(service, host, port))
        self.thread = threading.Thread(target=self.server.run, name="connector-serve",
                                       daemon=True)
        self.host = host

    @property
    def url(self) -> str:
        sockets = self.server.servers[0].sockets
        return f"http://{self.host}:{sockets[0].getsockname()[1]}"

    def __enter__(self) -> Background:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("connector serve did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
