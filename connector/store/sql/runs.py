"""Who runs a client, and what each run recorded: the lease (one run per client at a time,
taken over from a dead holder) and the runs' records that ``connector status`` reads."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, select, update

from connector.errors import LeaseHeld, StateError
from connector.store import tables as t
from connector.store.base import INTERRUPTED_NOTE
from connector.store.sql.engine import Database


class RunRows(Database):
    """Leases and runs."""

    def acquire_lease(self, client: str, holder: str, ttl_seconds: int, now: datetime) -> None:
        until = now + timedelta(seconds=ttl_seconds)
        insert = self.upsert(t.leases).values(client=client, holder=holder, until=until)
        stmt = insert.on_conflict_do_update(
            index_elements=["client"], set_={"holder": holder, "until": until},
            where=(t.leases.c.until < now) | (t.leases.c.holder == holder)
        ).returning(t.leases.c.holder)  # rowcount is not reliable for upserts on psycopg
        with self._conn() as conn:
            if conn.execute(stmt).first() is None:
                row = conn.execute(select(t.leases).where(t.leases.c.client == client)).one()
                raise LeaseHeld(client, row.holder, row.until.isoformat())

    def renew_lease(self, client: str, holder: str, ttl_seconds: int, now: datetime) -> bool:
        """Extend the lease; False when ``holder`` no longer holds it (taken over)."""
        with self._conn() as conn:
            result = conn.execute(update(t.leases).where(and_(
                t.leases.c.client == client, t.leases.c.holder == holder)).values(
                until=now + timedelta(seconds=ttl_seconds)))
            return result.rowcount == 1

    def take_over_lease(self, client: str, dead_holder: str, holder: str, ttl_seconds: int,
                        now: datetime) -> bool:
        """Replace ``dead_holder`` (known to be gone) by ``holder``; False when the lease
        changed hands meanwhile (another run took it over first)."""
        with self._conn() as conn:
            result = conn.execute(update(t.leases).where(and_(
                t.leases.c.client == client, t.leases.c.holder == dead_holder)).values(
                holder=holder, until=now + timedelta(seconds=ttl_seconds)))
            return result.rowcount == 1

    def lease_holder(self, client: str) -> tuple[str, datetime] | None:
        """The client's lease (holder, until), or None when nobody holds it."""
        with self._conn() as conn:
            row = conn.execute(select(t.leases).where(t.leases.c.client == client)).first()
        return (row.holder, row.until) if row else None

    def release_lease(self, client: str, holder: str) -> None:
        with self._conn() as conn:
            conn.execute(delete(t.leases).where(and_(t.leases.c.client == client,
                                                     t.leases.c.holder == holder)))

    @contextlib.contextmanager
    def lease(self, client: str, holder: str, ttl_seconds: int,
              now: datetime) -> Iterator[None]:
        self.acquire_lease(client, holder, ttl_seconds, now)
        try:
            yield
        finally:
            with contextlib.suppress(StateError):
                self.release_lease(client, holder)

    def start_run(self, client: str, kind: str, started_at: datetime) -> str:
        run_id = str(uuid.uuid4())
        with self._conn() as conn:
            conn.execute(insert(t.runs).values(id=run_id, client=client, kind=kind,
                                               status="running", started_at=started_at))
        return run_id

    def interrupt_runs(self, client: str, now: datetime) -> int:
        """Mark the client's runs still "running" as interrupted. Called by the run that
        has just taken the lease, so none of them can still be going."""
        with self._conn() as conn:
            result = conn.execute(update(t.runs).where(and_(
                t.runs.c.client == client, t.runs.c.status == "running")).values(
                status="interrupted", finished_at=now, errors=[INTERRUPTED_NOTE]))
            return result.rowcount

    def finish_run(self, run_id: str, status: str, finished_at: datetime,
                   counts: Mapping[str, int], errors: Sequence[str],
                   report: Mapping[str, Any]) -> None:
        with self._conn() as conn:
            conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(
                status=status, finished_at=finished_at, counts=dict(counts),
                errors=list(errors)[:200], report=dict(report)))

    def last_runs(self, client: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        query = select(t.runs).order_by(t.runs.c.started_at.desc()).limit(limit)
        if client:
            query = query.where(t.runs.c.client == client)
        with self._conn() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def clients(self) -> list[str]:
        with self._conn() as conn:
            names = set(conn.execute(select(t.runs.c.client).distinct()).scalars())
            names |= set(conn.execute(select(t.contacts.c.client).distinct()).scalars())
            names |= set(conn.execute(select(t.outbox.c.client).distinct()).scalars())
        return sorted(names)

    def recent_warnings(self, client: str, since: datetime) -> list[str]:
        """The warnings of the client's runs started since ``since``, newest first, once
        each (kept in each run's recorded report; a run that planned nothing has none)."""
        with self._conn() as conn:
            reports = conn.execute(select(t.runs.c.report).where(and_(
                t.runs.c.client == client, t.runs.c.started_at >= since)).order_by(
                t.runs.c.started_at.desc()).limit(1000)).scalars()
            notes = [w for r in reports for w in (r or {}).get("warnings", [])]
        return list(dict.fromkeys(notes))
