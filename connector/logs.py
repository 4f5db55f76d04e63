"""Logging: every line carries the client and run id; secrets are masked; text or JSON.

The client and run id live in context variables set by the sync, so every module can log
plainly with ``logging.getLogger(__name__)``. Known secret values (tokens, SMTP passwords)
are registered once at start-up and replaced by ``***`` in every record, whatever logged it.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

client_var: contextvars.ContextVar[str] = contextvars.ContextVar("client", default="-")
run_var: contextvars.ContextVar[str] = contextvars.ContextVar("run", default="-")

_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so no log line can ever print them."""
    for value in values:
        if value and len(value) >= 4:
            _secrets.add(value)


def mask(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


@contextlib.contextmanager
def context(client: str, run_id: str | None = None) -> Iterator[None]:
    """Tag log lines emitted inside the block with ``client`` and ``run_id``."""
    t1 = client_var.set(client)
    t2 = run_var.set(run_id or "-")
    try:
        yield
    finally:
        client_var.reset(t1)
        run_var.reset(t2)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.client = client_var.get()
        record.run_id = run_var.get()
        if _secrets:
            record.msg = mask(record.getMessage())
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "client": getattr(record, "client", "-"),
            "run_id": getattr(record, "run_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_text:
            payload["exception"] = record.exc_text
        elif record.exc_info:
            payload["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(client)s %(run_id)s] %(name)s: %(message)s"


def setup(level: str = "INFO", fmt: str = "text", stream: object = None) -> None:
    """Configure the root ``connector`` logger once (idempotent)."""
    logger = logging.getLogger("connector")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(_ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
