"""tests/queue's Redis queue fixture, for the queue worker's test here."""

from ..queue.conftest import queue  # noqa: F401
