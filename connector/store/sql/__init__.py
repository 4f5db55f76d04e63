"""The state store on SQLAlchemy: SQLite by default, PostgreSQL by URL.

The schema is managed by the Alembic migrations shipped in the package and applied when
the store opens. Every statement names its client. Datetimes are aware UTC both ways.

:class:`SqlStore` is the one class to construct (``connector.store.open_store`` does); it
is put together from one part per kind of record, all on one :class:`Database`:
``engine`` (opening the database, connections), ``migrate`` (the schema, one process at a
time), ``runs`` (the lease of each client and its runs' records), ``bookmarks`` (where the
next sync starts: bookmarks and contacts webhooks marked), ``contacts`` (stored contacts,
events, failed writes and skips), ``scoring_models`` (the models that scored them),
``outbox`` (actions to deliver and their states), ``capabilities`` (what the CRM offers)
and ``transaction`` (one sync's writes, committed together).
"""

from __future__ import annotations

from connector.store.sql.bookmarks import BookmarkRows
from connector.store.sql.capabilities import CapabilityRows
from connector.store.sql.contacts import ContactRows
from connector.store.sql.engine import Database
from connector.store.sql.outbox import OutboxRows
from connector.store.sql.runs import RunRows
from connector.store.sql.scoring_models import ModelRows
from connector.store.sql.transaction import Transactions


class SqlStore(RunRows, BookmarkRows, ContactRows, ModelRows, OutboxRows, CapabilityRows,
               Transactions, Database):
    """The :class:`connector.store.base.Store` on SQLAlchemy."""


__all__ = ["SqlStore"]
