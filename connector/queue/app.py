"""The Celery app: broker settings that make a task survive its worker's death.

A task is acknowledged only after it finished (``acks_late``), and a worker reserves one
task at a time (prefetch 1), so a worker that dies (kill -9, lost machine) leaves its task
unacknowledged: Redis hands it to another worker once ``visibility_timeout`` passed. That
timeout must exceed the longest sync (a live sync's task handed out again only costs a
retry: the client's lease keeps the second copy from running alongside the first).
"""

from __future__ import annotations

from celery import Celery
from sqlalchemy.engine import make_url

from connector.errors import ConfigError

app = Celery("connector", set_as_current=False)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,  # the connector's own log setup (text/json, masking)
    broker_connection_retry_on_startup=True,
    task_default_queue="connector",
)
QUEUE = "connector"


def configure(broker_url: str, visibility_timeout: int, queue: str = QUEUE) -> Celery:
    """Point the app at ``broker_url`` (a Redis URL) with the given visibility timeout;
    ``queue`` names the queue and prefixes every key (deployments sharing a Redis)."""
    check_url(broker_url)
    # forget connections made with earlier settings (tests and benchmarks reconfigure), as
    # Celery itself does after a fork
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    app.conf.update(
        broker_url=broker_url,
        task_default_queue=queue,
        broker_transport_options={
            "global_keyprefix": f"{queue}:" if queue != QUEUE else "",
            "visibility_timeout": visibility_timeout,
            # look for abandoned tasks often enough for the timeout (kombu's default: 100 s)
            "unacked_restore_interval": max(1, min(10, visibility_timeout // 5)),
            "unacked_restore_throttle": 1,
        },
    )
    return app


def check_url(url: str) -> None:
    """A clear error for a queue URL that is not a Redis URL."""
    if not url.startswith(("redis://", "rediss://")):
        raise ConfigError(f"queue URL {safe_url(url)!r} is not a Redis URL",
                          field="CONNECTOR_QUEUE_URL / --queue / --broker",
                          fix="use redis://HOST:6379/0 (the Redis server the workers share)")


def safe_url(url: str) -> str:
    """The URL with its password hidden (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: say nothing of what it holds
        return "<unparseable URL>"


def ping(broker_url: str, visibility_timeout: int = 1800, queue: str = QUEUE) -> None:
    """Connect to the broker once; a ConfigError names the URL and the fix if it fails."""
    configure(broker_url, visibility_timeout, queue)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        raise ConfigError(f"cannot reach the queue at {safe_url(broker_url)} "
                          f"({type(exc).__name__})", field="CONNECTOR_QUEUE_URL / --queue",
                          fix="start Redis (redis-server, or docker run -p 6379:6379 redis:7)"
                          " or correct the URL") from None
