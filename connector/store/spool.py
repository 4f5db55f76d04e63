"""The activity spool in the state store: an adapter's account-wide activity stream kept in
the ``activity_spool`` table for the run (the protocol is ``connector/crm/spool.py``'s
``ActivitySpool``), so the process's memory does not grow with the account. SQLite and
PostgreSQL alike.

Each spool writes under its own ``owner`` (host, process, a random part): a dry run or a
doctor beside a running sync never touches that sync's rows. ``clear`` (the adapter's
``close``) deletes the owner's rows; the rows of a process on this host that is gone (a
kill -9) are deleted when the next spool of the client opens.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, create_engine, delete, distinct, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from connector.models import Event
from connector.store import tables as t
from connector.store.base import iter_chunks

SpoolRow = tuple[str, str, Event | None]  # (contact id, event id, event or None)
PAGE = 1000  # contact ids read at once by ``contact_ids``
CACHE_KIB = 2048  # SQLite page cache of each of the spool's own connections


class SqlActivitySpool:
    """One client's spool in the state database at ``engine``."""

    def __init__(self, engine: Engine, client: str, *, own_engine: bool = False) -> None:
        self.engine, self.client = engine, client
        self.own_engine = own_engine  # the spool's own connections, closed by ``clear``
        self.host = socket.gethostname()[:80]
        self.owner = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._streams = 0
        self._seq = 0
        self._forget_the_dead()

    def new_stream(self) -> int:
        self._streams += 1
        return self._streams

    def add(self, stream: int, rows: Sequence[SpoolRow]) -> None:
        if not rows:
            return
        values = []
        for contact_id, event_id, event in rows:
            self._seq += 1
            values.append({
                "client": self.client, "owner": self.owner, "stream": stream,
                "contact_id": contact_id, "seq": self._seq, "event_id": event_id,
                "type": str(event.type) if event else None,
                "occurred_at": event.occurred_at if event else None,
                "url": event.url if event else None,
                "email_id": event.email_id if event else None,
                "name": event.name if event else None,
                "properties": dict(event.properties) if event and event.properties else None})
        with self.engine.begin() as conn:
            conn.execute(t.activity_spool.insert(), values)

    def events(self, stream: int, contact_ids: Sequence[str]) -> dict[str, list[Event]]:
        s = t.activity_spool
        out: dict[str, list[Event]] = {}
        with self.engine.begin() as conn:
            for chunk in iter_chunks(list(contact_ids)):
                rows = conn.execute(select(s).where(
                    self._of(stream), s.c.contact_id.in_(chunk), s.c.type.is_not(None))
                    .order_by(s.c.contact_id, s.c.seq))
                for row in rows:
                    out.setdefault(row.contact_id, []).append(Event(
                        id=row.event_id, contact_id=row.contact_id, type=row.type,
                        occurred_at=row.occurred_at, url=row.url, email_id=row.email_id,
                        name=row.name, properties=row.properties or {}))
        return out

    def named(self, stream: int, contact_ids: Sequence[str]) -> dict[str, set[str]]:
        s = t.activity_spool
        out: dict[str, set[str]] = {}
        with self.engine.begin() as conn:
            for chunk in iter_chunks(list(contact_ids)):
                for contact_id, event_id in conn.execute(
                        select(s.c.contact_id, s.c.event_id).where(
                            self._of(stream), s.c.contact_id.in_(chunk))):
                    out.setdefault(contact_id, set()).add(event_id)
        return out

    def contact_ids(self, stream: int) -> Iterator[str]:
        """Keyset pages of ``PAGE`` ids, in id order."""
        s = t.activity_spool
        last = ""
        while True:
            with self.engine.begin() as conn:
                page = list(conn.execute(
                    select(s.c.contact_id).distinct().where(
                        self._of(stream), s.c.contact_id > last)
                    .order_by(s.c.contact_id).limit(PAGE)).scalars())
            yield from page
            if len(page) < PAGE:
                return
            last = page[-1]

    def count(self, stream: int) -> int:
        s = t.activity_spool
        with self.engine.begin() as conn:
            return int(conn.execute(select(func.count(distinct(s.c.contact_id)))
                                    .where(self._of(stream))).scalar_one())

    def clear(self) -> None:
        s = t.activity_spool
        with self.engine.begin() as conn:
            conn.execute(delete(s).where(s.c.client == self.client, s.c.owner == self.owner))
        if self.own_engine:
            self.engine.dispose()  # and its connections' caches with them

    def _of(self, stream: int) -> ColumnElement[bool]:
        s = t.activity_spool
        return and_(s.c.client == self.client, s.c.owner == self.owner, s.c.stream == stream)

    def _forget_the_dead(self) -> None:
        """Delete the client's rows of processes on this host that are gone."""
        s = t.activity_spool
        with self.engine.begin() as conn:
            owners = conn.execute(select(s.c.owner).distinct()
                                  .where(s.c.client == self.client)).scalars().all()
            for owner in owners:
                host, pid, _ = [*owner.rsplit(":", 2), "", ""][:3]
                if host == self.host and pid.isdigit() and not _alive(int(pid)):
                    conn.execute(delete(s).where(s.c.client == self.client,
                                                 s.c.owner == owner))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def activity_spool(store: object, client: str) -> SqlActivitySpool | None:
    """The spool of ``client`` in ``store``'s database; None for a store without one."""
    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine):
        return None
    if engine.dialect.name == "sqlite":
        return SqlActivitySpool(_own_sqlite(engine), client, own_engine=True)
    return SqlActivitySpool(engine, client)


def _own_sqlite(engine: Engine) -> Engine:
    """The spool's own connections to the SQLite file, with a small page cache: the
    store's connections keep 32 MiB each (its event index stays hot), and every thread
    reading a big spool through them filled one (measured: 240,000 spooled rows read by
    two threads, 50 MB more resident memory, 9 MB of it Python objects). The spool reads
    each batch's rows once: the operating system's file cache serves it as well."""
    own = create_engine(engine.url, connect_args={"timeout": 30})

    @sa_event.listens_for(own, "connect")
    def _pragmas(dbapi_conn: Any, _: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cursor.close()

    return own
