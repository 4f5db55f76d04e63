"""A local SMTP server that keeps what it receives (demo and tests), on aiosmtpd.

Tests make it misbehave like a real server on a bad day (``sink.set_mode(...)``):

* ``ok``: accept (250);
* ``slow``: accept, after ``delay`` seconds at RCPT and after DATA;
* ``451`` / ``550``: answer that code at ``fail_at`` (MAIL, RCPT or DATA, the final reply);
* ``refused``: nothing listens on the port (connection refused);
* ``drop``: read the whole message after DATA, then close the connection without an
  answer. ``drop_delivers`` says whether the server had queued it anyway (then it counts
  as received, as a real server may do) or not (it is only kept in ``dropped``).

``on_data(n)`` / ``on_quit(n)`` run (in a worker thread) before the server answers the
n-th message's final DATA reply or that session's QUIT, so a test can hold an answer.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING

MODES = ("ok", "slow", "451", "550", "refused", "drop")
ANSWERS = {"451": "451 4.3.0 Temporary local problem, please try again later",
           "550": "550 5.1.1 Mailbox unavailable: no such user here"}


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> Any:
        return self.sink.failure("MAIL") or MISSING

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> Any:
        if self.sink.mode == "slow":
            await asyncio.sleep(self.sink.delay)
        return self.sink.failure("RCPT") or MISSING

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        sink = self.sink
        message = message_from_bytes(envelope.content, policy=policy.default)
        with sink.lock:
            sink.handed_over += 1
            number = sink.handed_over
            session.connector_number = number
        if sink.on_data is not None:
            await asyncio.to_thread(sink.on_data, number)
        mode = sink.mode
        if mode == "slow":
            await asyncio.sleep(sink.delay)
        if mode == "drop":
            with sink.lock:
                sink.dropped.append(message)
                if sink.drop_delivers:
                    sink.messages.append(message)
            server.transport.abort()
            return "250 never heard"
        failure = sink.failure("DATA")
        if failure:
            return failure
        with sink.lock:
            sink.messages.append(message)
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> Any:
        number = getattr(session, "connector_number", None)
        if self.sink.on_quit is not None and number is not None:
            await asyncio.to_thread(self.sink.on_quit, number)
        return MISSING


class SmtpSink:
    """``with SmtpSink() as sink: ... sink.messages``"""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.messages: list[EmailMessage] = []
        self.dropped: list[EmailMessage] = []
        self.handed_over = 0
        self.lock = threading.Lock()
        self.mode = "ok"
        self.fail_at = "DATA"
        self.delay = 0.2
        self.drop_delivers = False
        self.on_data: Callable[[int], None] | None = None
        self.on_quit: Callable[[int], None] | None = None
        self.controller: Controller | None = None
        self._listening = False

    def failure(self, stage: str) -> str | None:
        """The error answer for ``stage`` in the current mode, or None to go on."""
        if self.mode in ANSWERS and self.fail_at == stage:
            return ANSWERS[self.mode]
        return None

    def set_mode(self, mode: str, *, fail_at: str | None = None, delay: float | None = None,
                 drop_delivers: bool | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown SMTP sink mode {mode!r} (one of {', '.join(MODES)})")
        self.fail_at = fail_at or self.fail_at
        self.delay = self.delay if delay is None else delay
        self.drop_delivers = self.drop_delivers if drop_delivers is None else drop_delivers
        self.mode = mode
        if mode == "refused" and self._listening:
            # stop listening (new connections are refused) but let open sessions finish;
            # safe from a hook's thread, where a full stop would wait for that very hook
            controller = self.controller
            controller.loop.call_soon_threadsafe(controller.server.close)  # type: ignore[union-attr]
            self._listening = False
        elif mode != "refused" and not self._listening:
            self.stop()
            self.start()

    def start(self) -> SmtpSink:
        if self.controller is None:
            self.controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            self.controller.start()
            self._listening = True
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        self._listening = False

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
