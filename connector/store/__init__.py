"""The state store: what the connector remembers between syncs."""

from __future__ import annotations

from connector.store.base import OutboxEntry, Store, StoredContact


def open_store(url: str) -> Store:
    """Open (and migrate) the store at ``url``: sqlite:///file.db or postgresql://..."""
    from connector.store.sql import SqlStore

    return SqlStore(url)


__all__ = ["OutboxEntry", "Store", "StoredContact", "open_store"]
