"""Serve a WSGI app on loopback in a background thread (sandboxes, demo, tests)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # injected resets are not news


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # no access log on stderr
        return None


class Server:
    """A running loopback server; use as a context manager or call ``stop()``."""

    def __init__(self, app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        # bound here so that a port in use raises OSError (werkzeug would print and exit)
        with socket.create_server((host, port)) as sock:
            self.httpd: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                     request_handler=_QuietHandler,
                                                     fd=sock.fileno())
        self.host = host
        self.port = self.httpd.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, name=f"sandbox:{port}",
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
