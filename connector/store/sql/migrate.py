"""Creating or upgrading the schema with the Alembic migrations in ``store/migrations``,
one process at a time: processes that open the same new database at once take turns."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parents[1] / "migrations"
_MIGRATING = threading.Lock()
MIGRATION_LOCK_KEY = 0x636F6E6E  # pg_advisory_xact_lock key of the connector's migrations


def migrate(engine: Engine) -> None:
    """Create or upgrade the tables. Processes that open the same new database at
    once (``connector run`` and a manual ``sync``, workers starting together) take
    turns: else each sees no tables and all but one fail ("table alembic_version
    already exists"). Alembic's context is global to the process: one at a time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _MIGRATING, _migration_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # held until this transaction commits
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """SQLite: an exclusive flock on the database's folder while migrating (not on the
    file: SQLite locks it with POSIX locks, which closing any other descriptor of the
    file in this process would drop). PostgreSQL locks in ``migrate``."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    try:
        fd = os.open(Path(database).expanduser().resolve().parent, os.O_RDONLY)
    except OSError:  # a folder we may not read: migrate as before, unguarded
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
