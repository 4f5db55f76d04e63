"""Opening the state database: the SQLAlchemy engine (SQLite with WAL and a busy timeout,
PostgreSQL through psycopg), the schema brought up to date, and connections whose
database errors become a StateError that names the database without its password."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from connector.errors import StateError
from connector.store.sql.migrate import migrate


def masked(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show only its scheme
        return url.split(":", 1)[0] + ":***"


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True,
                                                                      exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # 32 MiB of page cache (the default is 2): big accounts' event index stays hot
            cursor.execute("PRAGMA cache_size=-32768")
            cursor.close()
        return engine
    return create_engine(parsed, pool_pre_ping=True)


class Database:
    """The open database every part of :class:`~connector.store.sql.SqlStore` works on."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            migrate(self.engine)
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc  # the driver's error, when there is one
            raise StateError(f"cannot open the state database {masked(url)}: "
                             f"{type(cause).__name__}: "
                             f"{str(cause).splitlines()[0]}") from None
        self.upsert = (postgresql.insert if self.engine.dialect.name == "postgresql"
                       else sqlite.insert)

    @contextlib.contextmanager
    def _conn(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StateError(f"the state database {masked(self.url)} failed: "
                             f"{str(exc.orig or exc).splitlines()[0]}") from None

    def close(self) -> None:
        self.engine.dispose()
