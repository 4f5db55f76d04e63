"""The real Redis on this machine; each test has its own queue name (and key prefix), so
runs of the suite that overlap never take each other's tasks."""

from __future__ import annotations

import os
import uuid
from typing import NamedTuple

import pytest

REDIS = os.environ.get("CONNECTOR_TEST_REDIS", "redis://127.0.0.1:6379/14")


class Queue(NamedTuple):
    url: str
    name: str  # CONNECTOR_QUEUE_NAME: the queue, and the prefix of every key

    def key(self, suffix: str) -> str:
        return f"{self.name}:{suffix}"


@pytest.fixture
def queue():
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
    try:
        conn.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS} is required in CI")
        pytest.skip(f"Redis at {REDIS} is not reachable")
    name = f"connector-test-{uuid.uuid4().hex[:8]}"
    yield Queue(REDIS, name)
    for key in conn.scan_iter(match=f"{name}:*"):
        conn.delete(key)
