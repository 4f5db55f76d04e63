"""The state store: what the connector remembers between syncs."""

from __future__ import annotations

import importlib
from pathlib import Path

from connector.errors import ClientConfigError
from connector.store.base import OutboxEntry, Store, StoredContact

SETTING = "CONNECTOR_STATE_URL"
EXAMPLES = "sqlite:///connector-state.db or postgresql+psycopg://user@host:5432/db"


def open_store(url: str) -> Store:
    """Open (and migrate) the store at ``url``: sqlite:///file.db or postgresql://...

    A URL that cannot work (not a URL, an unsupported database, PostgreSQL without its
    driver, a SQLite folder that cannot be created) is one clear line naming the setting
    and the fix, before anything connects.
    """
    from connector.store.sql import SqlStore

    check_state_url(url)
    return SqlStore(url)


def check_state_url(url: str) -> None:
    """Raise ClientConfigError when ``url`` can never open a state store."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from connector.store.sql.engine import masked

    try:
        parsed = make_url(url)
    except ArgumentError:
        shown = url if not any(c in url for c in ":@/") else masked(url)
        raise _error(f"{shown!r} is not a database URL",
                     f"set it to a URL such as {EXAMPLES}") from None
    backend = parsed.drivername.split("+")[0]
    if backend == "sqlite":
        _sqlite_folder(parsed.database)
    elif backend in ("postgresql", "postgres"):
        _postgres_driver(parsed.drivername.partition("+")[2])
    else:
        raise _error(f"{backend} databases are not supported",
                     f"use SQLite or PostgreSQL, e.g. {EXAMPLES}")


def _sqlite_folder(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    target = Path(database).expanduser().resolve()
    if target.is_dir():
        raise _error(f"{target} is a folder, not a SQLite file",
                     f"name a file in it, e.g. sqlite:///{target / 'connector-state.db'}")
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _error(f"cannot create the folder {folder} for the SQLite file "
                     f"({exc.strerror or type(exc).__name__})",
                     "point it at a folder you can write, e.g. "
                     "sqlite:///connector-state.db") from None


def _postgres_driver(driver: str) -> None:
    # a bare postgresql:// is turned into postgresql+psycopg:// by the store
    if driver not in ("", "psycopg", "psycopg2", "pg8000"):
        raise _error(f"the PostgreSQL driver {driver!r} is not supported (the store is "
                     "synchronous)", "use postgresql+psycopg://... and install the extra: "
                     "pip install 'connector[postgres]'")
    module = driver or "psycopg"
    try:
        importlib.import_module(module)
    except ImportError:
        fix = ("install the postgres extra: pip install 'connector[postgres]' (from a "
               "checkout: pip install -e '.[postgres]')")
        if module != "psycopg":
            fix = f"pip install {module}, or use postgresql+psycopg:// and {fix}"
        raise _error(f"PostgreSQL needs the {module} driver, which is not installed",
                     fix) from None


def _error(message: str, fix: str) -> ClientConfigError:
    return ClientConfigError(message, file="settings", field=SETTING,
                             fix=fix)


__all__ = ["OutboxEntry", "Store", "StoredContact", "check_state_url", "open_store"]
