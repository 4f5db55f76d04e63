"""The producer side: `connector run --queue` enqueues one sync task per due client, and
`connector serve --queue` one targeted sync per client whose burst of webhooks is over.

A task carries when its client was due (the worker logs the lag from due to done) and
expires when the client's next run is due, so a backlog never stacks runs of one client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from connector.config import ClientConfig
from connector.queue.tasks import sync_client, sync_dirty_contacts
from connector.schedule.scheduler import trigger_for

log = logging.getLogger("connector.queue")


def enqueue(client: str, *, due_at: datetime | None = None,
            expires: float | None = None) -> str:
    """Put one sync of ``client`` on the queue; returns the task id."""
    due = due_at or datetime.now(UTC)
    result = sync_client.apply_async(args=[client], kwargs={"due_at": due.isoformat()},
                                     expires=expires)
    return result.id


def enqueue_targeted(client: str) -> str:
    """Put one targeted sync of ``client``'s dirty contacts on the queue (`connector serve
    --queue`); the worker reads the marks. No expiry: a task that finds nothing left marked
    is done at once."""
    return sync_dirty_contacts.apply_async(args=[client]).id


def until_next_run(client: ClientConfig, now: datetime) -> float:
    """Seconds from ``now`` until the client's next scheduled run."""
    nxt = trigger_for(client).get_next_fire_time(now, now + timedelta(microseconds=1))
    return max(1.0, (nxt - now).total_seconds()) if nxt else 3600.0


class Producer:
    """A ``scheduler.Runner`` ``run_one`` that enqueues instead of syncing in process."""

    def __init__(self, clients: Mapping[str, ClientConfig]) -> None:
        self.clients = dict(clients)
        self.queued: dict[str, str] = {}  # client -> last task id

    def __call__(self, name: str, stop: threading.Event) -> None:
        now = datetime.now(UTC)
        self.queued[name] = enqueue(name, due_at=now,
                                    expires=until_next_run(self.clients[name], now))
        log.info("client %s queued (task %s)", name, self.queued[name])
