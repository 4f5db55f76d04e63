"""Shared fixtures: state stores on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import tempfile
import uuid
from pathlib import Path

import pytest

PG_ADMIN = os.environ.get("CONNECTOR_TEST_PG", "postgresql://root@127.0.0.1:5432/test")


def _pg_database() -> str | None:
    """A fresh database on the local PostgreSQL for one test (None if unreachable)."""
    try:
        import psycopg
    except ImportError:
        return None
    name = f"connector_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN.replace("postgresql+psycopg", "postgresql"),
                             autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return None
    return name


@pytest.fixture
def pg_database():
    name = _pg_database()
    if name is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("pg_database")


EXAMPLE_PORTS_LOCK = Path(tempfile.gettempdir()) / "connector-tests-example-ports.lock"


@pytest.fixture
def example_ports():
    """The ports the example clients use (HubSpot 8765, ActiveCampaign 8766, SMTP 8025),
    held for one test that runs `connector sandbox` on them: another run of the suite on
    this machine (CI runs several at once) waits here until they are free instead of
    failing with 'Address already in use'."""
    with EXAMPLE_PORTS_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
