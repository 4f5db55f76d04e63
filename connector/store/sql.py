"""The state store on SQLAlchemy: SQLite by default, PostgreSQL by URL.

The schema is managed by the Alembic migrations shipped in the package and applied when
the store opens. Every statement names its client. Datetimes are aware UTC both ways.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from connector.errors import LeaseHeld, StateError
from connector.models import Event, Transition
from connector.store import tables as t
from connector.store.base import (
    INTERRUPTED_NOTE,
    OutboxEntry,
    StoredContact,
    StoredModel,
    iter_chunks,
)

MIGRATIONS = Path(__file__).parent / "migrations"


_MIGRATING = threading.Lock()
MIGRATION_LOCK_KEY = 0x636F6E6E  # pg_advisory_xact_lock key of the connector's migrations


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


class SqlStore:
    """The :class:`connector.store.base.Store` on SQLAlchemy."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            self._migrate()
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc  # the driver's error, when there is one
            raise StateError(f"cannot open the state database {masked(url)}: "
                             f"{type(cause).__name__}: "
                             f"{str(cause).splitlines()[0]}") from None
        self.upsert = (postgresql.insert if self.engine.dialect.name == "postgresql"
                       else sqlite.insert)

    def _migrate(self) -> None:
        """Create or upgrade the tables. Processes that open the same new database at
        once (``connector run`` and a manual ``sync``, workers starting together) take
        turns: else each sees no tables and all but one fail ("table alembic_version
        already exists"). Alembic's context is global to the process: one at a time."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with _MIGRATING, self._migration_lock(), self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # held until this transaction commits
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """SQLite: an exclusive flock on the database's folder while migrating (not on the
        file: SQLite locks it with POSIX locks, which closing any other descriptor of the
        file in this process would drop). PostgreSQL locks in ``_migrate``."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
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

    # -- leases -------------------------------------------------------------------
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

    # -- runs -----------------------------------------------------------------------
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

    # -- bookmarks -----------------------------------------------------------------
    def get_bookmark(self, client: str, stream: str) -> datetime | None:
        with self._conn() as conn:
            return conn.execute(select(t.bookmarks.c.value).where(and_(
                t.bookmarks.c.client == client, t.bookmarks.c.stream == stream))).scalar()

    def set_bookmark(self, client: str, stream: str, value: datetime) -> None:
        with self.transaction() as tx:
            tx.set_bookmark(client, stream, value)

    # -- contacts and events -----------------------------------------------------------
    def get_contacts(self, client: str, ids: Sequence[str]) -> dict[str, StoredContact]:
        out: dict[str, StoredContact] = {}
        with self._conn() as conn:
            for chunk in iter_chunks(list(ids)):
                rows = conn.execute(select(t.contacts).where(and_(
                    t.contacts.c.client == client, t.contacts.c.contact_id.in_(chunk))))
                for row in rows:
                    out[row.contact_id] = _contact(row)
        return out

    def due_contacts(self, client: str, now: datetime) -> list[str]:
        with self._conn() as conn:
            return list(conn.execute(select(t.contacts.c.contact_id).where(and_(
                t.contacts.c.client == client, t.contacts.c.next_change_at <= now))).scalars())

    def top_contacts(self, client: str, limit: int) -> list[StoredContact]:
        with self._conn() as conn:
            rows = conn.execute(select(t.contacts).where(t.contacts.c.client == client)
                                .order_by(t.contacts.c.total.desc(), t.contacts.c.contact_id)
                                .limit(limit))
            return [_contact(row) for row in rows]

    def already_warm(self, client: str, limit: int | None = None) -> list[StoredContact]:
        """Leads warm since the client's first sync recorded them (``first_sync: baseline``:
        warm in warm-up 0, which no invite is keyed by), best first."""
        c = t.contacts.c
        query = (select(t.contacts).where(and_(c.client == client, c.warm.is_(True),
                                                c.warm_episode == 0))
                 .order_by(c.total.desc(), c.contact_id))
        with self._conn() as conn:
            return [_contact(row) for row in conn.execute(
                query if limit is None else query.limit(limit))]

    def iter_contacts(self, client: str, chunk: int = 2000) -> Iterator[list[StoredContact]]:
        """Every contact of a client, in chunks (keyset paging by id: memory stays flat)."""
        after = ""
        while True:
            with self._conn() as conn:
                rows = [_contact(row) for row in conn.execute(
                    select(t.contacts).where(and_(t.contacts.c.client == client,
                                                  t.contacts.c.contact_id > after))
                    .order_by(t.contacts.c.contact_id).limit(chunk))]
            if not rows:
                return
            yield rows
            after = rows[-1].contact_id

    def contact_count(self, client: str) -> int:
        with self._conn() as conn:
            return conn.execute(select(func.count()).select_from(t.contacts).where(
                t.contacts.c.client == client)).scalar_one()

    def get_events(self, client: str, ids: Sequence[str]) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        with self._conn() as conn:
            for chunk in iter_chunks(list(ids)):
                rows = conn.execute(select(t.events).where(and_(
                    t.events.c.client == client, t.events.c.contact_id.in_(chunk)))
                    .order_by(t.events.c.occurred_at, t.events.c.event_id))
                for row in rows:
                    out.setdefault(row.contact_id, []).append(Event(
                        id=row.event_id, contact_id=row.contact_id, type=row.type,
                        occurred_at=row.occurred_at, url=row.url, email_id=row.email_id,
                        name=row.name))
        return out

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Tx]:
        with self._conn() as conn:
            yield _Tx(conn, self.upsert)

    # -- outbox --------------------------------------------------------------------------
    def claim_next(self, client: str, now: datetime, after_id: int = 0) -> OutboxEntry | None:
        """Commit ONE due pending entry (id above ``after_id``) as "sending" and return it.

        One entry at a time, just before its send: a crash or stop leaves only the entry
        in flight "sending" (later "unknown"); the rest stay "pending"."""
        due = or_(t.outbox.c.next_attempt_at.is_(None), t.outbox.c.next_attempt_at <= now)
        while True:
            with self._conn() as conn:
                row = conn.execute(select(t.outbox).where(and_(
                    t.outbox.c.client == client, t.outbox.c.status == "pending",
                    t.outbox.c.id > after_id, due)).order_by(t.outbox.c.id).limit(1)).first()
                if row is None:
                    return None
                first = row.first_attempt_at or now
                result = conn.execute(update(t.outbox).where(and_(
                    t.outbox.c.id == row.id, t.outbox.c.status == "pending")).values(
                    status="sending", attempts=row.attempts + 1, first_attempt_at=first,
                    updated_at=now))
                if result.rowcount == 1:
                    return _entry(row, status="sending", attempts=row.attempts + 1,
                                  first_attempt_at=first)
            after_id = row.id  # another process took it: go on with the next one

    def mark_sent(self, entry_id: int, now: datetime, detail: str) -> None:
        with self._conn() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == entry_id).values(
                status="sent", detail=detail[:1000], last_error=None, next_attempt_at=None,
                updated_at=now))

    def defer(self, entry_id: int, error: str, next_attempt_at: datetime,
              now: datetime) -> None:
        """Not sent, worth retrying: back to "pending", not tried before ``next_attempt_at``."""
        with self._conn() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == entry_id).values(
                status="pending", last_error=error[:1000], next_attempt_at=next_attempt_at,
                updated_at=now))

    def mark_failed(self, entry_id: int, error: str, now: datetime) -> None:
        """Not sent and not retried again (until a person requeues it)."""
        with self._conn() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == entry_id).values(
                status="failed", last_error=error[:1000], next_attempt_at=None,
                updated_at=now))

    def mark_unknown(self, entry_id: int, error: str, now: datetime) -> None:
        with self._conn() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == entry_id).values(
                status="unknown", last_error=error[:1000], updated_at=now))

    def recover_interrupted(self, client: str, now: datetime) -> list[OutboxEntry]:
        """Entries a crashed run left in "sending": their outcome is unknown. They become
        "unknown" (for a person to settle), never resent blindly."""
        with self._conn() as conn:
            rows = conn.execute(select(t.outbox).where(and_(
                t.outbox.c.client == client, t.outbox.c.status == "sending"))).all()
            if rows:
                conn.execute(update(t.outbox).where(t.outbox.c.id.in_([r.id for r in rows]))
                             .values(status="unknown", updated_at=now,
                                     last_error="interrupted during delivery"))
        return [_entry(r, status="unknown") for r in rows]

    def resolve_unknown(self, client: str, entry_id: int, sent: bool, now: datetime) -> bool:
        """A person settles an "unknown" entry: it did go out (sent) or it did not (pending,
        sent by the next sync). False when the entry is not "unknown" (or not this client's)."""
        values: dict[str, Any] = (
            {"status": "sent", "detail": "settled as sent by a person"} if sent else
            {"status": "pending", "next_attempt_at": None, "first_attempt_at": None})
        return self._move(client, entry_id, "unknown", now, values)

    def requeue_failed(self, client: str, entry_id: int, now: datetime) -> bool:
        """A person requeues a "failed" entry: pending again, with a fresh retry window."""
        return self._move(client, entry_id, "failed", now, {
            "status": "pending", "next_attempt_at": None, "first_attempt_at": None})

    def _move(self, client: str, entry_id: int, status: str, now: datetime,
              values: dict[str, Any]) -> bool:
        with self._conn() as conn:
            result = conn.execute(update(t.outbox).where(and_(
                t.outbox.c.id == entry_id, t.outbox.c.client == client,
                t.outbox.c.status == status)).values(updated_at=now, **values))
            return result.rowcount == 1

    def outbox(self, client: str, statuses: Sequence[str] | None = None) -> list[OutboxEntry]:
        query = select(t.outbox).where(t.outbox.c.client == client).order_by(t.outbox.c.id)
        if statuses:
            query = query.where(t.outbox.c.status.in_(list(statuses)))
        with self._conn() as conn:
            return [_entry(r) for r in conn.execute(query)]

    # -- safe rule changes: models, held and queued actions ---------------------------
    def save_model(self, model: StoredModel, now: datetime) -> None:
        """Remember a model the client's sync uses (once per hash; the text never changes)."""
        stmt = self.upsert(t.models).values(
            client=model.client, hash=model.hash, name=model.name, source=model.source,
            rules_text=model.rules_text, first_used_at=now)
        with self._conn() as conn:
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["client", "hash"]))

    def get_model(self, client: str, model_hash: str) -> StoredModel | None:
        with self._conn() as conn:
            row = conn.execute(select(t.models).where(and_(
                t.models.c.client == client, t.models.c.hash == model_hash))).first()
        return StoredModel(**dict(row._mapping)) if row else None

    def contacts_with_other_model(self, client: str, model_hash: str) -> list[str]:
        """Contacts whose stored score another (recorded) model produced. Two range scans
        of the (client, model_hash) index, so an unchanged model costs next to nothing."""
        column = t.contacts.c.model_hash
        with self._conn() as conn:
            return list(conn.execute(select(t.contacts.c.contact_id).where(and_(
                t.contacts.c.client == client,
                or_(column < model_hash, column > model_hash)))).scalars())

    def iter_contacts_with_other_model(self, client: str, model_hash: str,
                                       chunk: int = 2000) -> Iterator[list[str]]:
        """``contacts_with_other_model`` in pages of ``chunk`` ids (keyset paging by id:
        memory stays flat, and rows rescored between pages do not shift the next page).
        One cheap indexed probe first, so an unchanged model costs next to nothing."""
        c = t.contacts.c
        other = or_(c.model_hash < model_hash, c.model_hash > model_hash)
        with self._conn() as conn:
            if conn.execute(select(c.contact_id).where(and_(c.client == client, other))
                            .limit(1)).first() is None:
                return
        after = ""
        while True:
            with self._conn() as conn:
                ids = list(conn.execute(select(c.contact_id).where(and_(
                    c.client == client, c.contact_id > after, other))
                    .order_by(c.contact_id).limit(chunk)).scalars())
            if not ids:
                return
            yield ids
            after = ids[-1]

    def set_outbox_status(self, client: str, ids: Sequence[int], status: str, *,
                          reason: str | None, next_attempt_at: datetime | None,
                          now: datetime) -> int:
        """Move entries (never one being sent or already settled) to "held", "queued" or
        back to "pending"; returns how many moved."""
        moved = 0
        with self._conn() as conn:
            for chunk in iter_chunks(list(ids)):
                result = conn.execute(update(t.outbox).where(and_(
                    t.outbox.c.client == client, t.outbox.c.id.in_(chunk),
                    t.outbox.c.status.in_(["pending", "held", "queued"]))).values(
                    status=status, hold_reason=reason, next_attempt_at=next_attempt_at,
                    updated_at=now))
                moved += result.rowcount
        return moved

    def release_held(self, client: str, entry_id: int, now: datetime) -> bool:
        """A person releases a "held" entry: pending, sent by the next sync, never held by
        the guard again. False when it is not "held" (or not this client's)."""
        return self._move(client, entry_id, "held", now, {
            "status": "pending", "next_attempt_at": None, "released_at": now})

    def discard_held(self, client: str, entry_id: int, now: datetime) -> bool:
        """A person drops a "held" entry for good (e.g. planned by a broken rule): it
        becomes "discarded" and is never sent. False when it is not "held"."""
        return self._move(client, entry_id, "held", now, {
            "status": "discarded", "next_attempt_at": None,
            "detail": "discarded by a person"})

    def sent_since(self, client: str, kind: str, since: datetime) -> list[OutboxEntry]:
        with self._conn() as conn:
            return [_entry(r) for r in conn.execute(select(t.outbox).where(and_(
                t.outbox.c.client == client, t.outbox.c.kind == kind,
                t.outbox.c.status == "sent", t.outbox.c.updated_at >= since)))]

    # -- failures and status --------------------------------------------------------------
    def failed_writes(self, client: str) -> dict[str, tuple[int, str]]:
        with self._conn() as conn:
            rows = conn.execute(select(t.failed_writes).where(
                t.failed_writes.c.client == client))
            return {r.contact_id: (r.score, r.reason) for r in rows}

    def skipped(self, client: str, limit: int = 50) -> list[dict[str, Any]]:
        with self._conn() as conn:
            rows = conn.execute(select(t.skipped).where(t.skipped.c.client == client)
                                .order_by(t.skipped.c.at.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    def clients(self) -> list[str]:
        with self._conn() as conn:
            names = set(conn.execute(select(t.runs.c.client).distinct()).scalars())
            names |= set(conn.execute(select(t.contacts.c.client).distinct()).scalars())
            names |= set(conn.execute(select(t.outbox.c.client).distinct()).scalars())
        return sorted(names)

    def action_counts(self, client: str) -> dict[str, int]:
        """The client's outbox entries by status."""
        with self._conn() as conn:
            return dict(conn.execute(select(t.outbox.c.status, func.count()).where(
                t.outbox.c.client == client).group_by(t.outbox.c.status)).all())

    def recent_warnings(self, client: str, since: datetime) -> list[str]:
        """The warnings of the client's runs started since ``since``, newest first, once
        each (kept in each run's recorded report; a run that planned nothing has none)."""
        with self._conn() as conn:
            reports = conn.execute(select(t.runs.c.report).where(and_(
                t.runs.c.client == client, t.runs.c.started_at >= since)).order_by(
                t.runs.c.started_at.desc()).limit(1000)).scalars()
            notes = [w for r in reports for w in (r or {}).get("warnings", [])]
        return list(dict.fromkeys(notes))

    # -- dirty contacts (webhooks) ---------------------------------------------------------
    def mark_dirty(self, client: str, ids: Sequence[str], source: str, now: datetime) -> None:
        """Remember that a webhook said these contacts changed (idempotent; the first mark
        of a contact is kept, the newest time is updated)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return
        with self._conn() as conn:
            stmt = self.upsert(t.dirty_contacts)
            stmt = stmt.on_conflict_do_update(index_elements=["client", "contact_id"], set_={
                "marked_at": stmt.excluded.marked_at, "source": stmt.excluded.source})
            conn.execute(stmt, [{"client": client, "contact_id": cid, "source": source,
                                 "first_marked_at": now, "marked_at": now} for cid in ids])

    def dirty_contacts(self, client: str) -> dict[str, datetime]:
        """The client's dirty contacts: id -> when it was first marked."""
        with self._conn() as conn:
            rows = conn.execute(select(t.dirty_contacts.c.contact_id,
                                       t.dirty_contacts.c.first_marked_at).where(
                t.dirty_contacts.c.client == client))
            return {r.contact_id: r.first_marked_at for r in rows}

    def dirty_clients(self) -> list[str]:
        with self._conn() as conn:
            return sorted(conn.execute(select(t.dirty_contacts.c.client).distinct()).scalars())

    def clear_dirty(self, client: str, ids: Sequence[str], until: datetime) -> None:
        """Clear the marks of ``ids`` not newer than ``until`` (a sync's start): a contact
        marked again while the sync ran stays dirty."""
        with self._conn() as conn:
            for chunk in iter_chunks(list(ids)):
                conn.execute(delete(t.dirty_contacts).where(and_(
                    t.dirty_contacts.c.client == client,
                    t.dirty_contacts.c.contact_id.in_(chunk),
                    t.dirty_contacts.c.marked_at <= until)))

    # -- capabilities (connector/crm/detected.py) -----------------------------------------
    def get_capabilities(self, client: str) -> dict[str, Any] | None:
        """The last detection (``Detected.as_dict()``) with ``changes`` / ``changed_at``
        of the last one that changed something; None before the first."""
        with self._conn() as conn:
            row = conn.execute(select(t.capabilities).where(
                t.capabilities.c.client == client)).first()
        if row is None:
            return None
        m = row._mapping
        return {"kind": m["kind"], "found": m["found"] or {},
                "checked_at": m["checked_at"].isoformat(), "changes": m["changes"] or [],
                "changed_at": m["changed_at"].isoformat() if m["changed_at"] else None}

    def save_capabilities(self, client: str, detected: Mapping[str, Any],
                          changes: Sequence[str]) -> None:
        """Keep a detection; ``changes`` (what differs from the one before) are kept until
        a later detection changes something again."""
        checked = datetime.fromisoformat(detected["checked_at"]) \
            if isinstance(detected.get("checked_at"), str) else datetime.now(UTC)
        values: dict[str, Any] = {"kind": detected["kind"], "found": dict(detected["found"]),
                                  "checked_at": checked}
        if changes:
            values.update(changes=list(changes), changed_at=checked)
        with self._conn() as conn:
            stmt = self.upsert(t.capabilities).values(client=client, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["client"], set_=values))


class _Tx:
    """One unit of work: state, transitions, outbox and bookmark commit together."""

    def __init__(self, conn: Connection, upsert: Any) -> None:
        self.conn = conn
        self.upsert = upsert

    def save_contacts(self, rows: Sequence[StoredContact]) -> None:
        if not rows:
            return
        values = [_contact_values(r) for r in rows]
        stmt = self.upsert(t.contacts)
        keys = ("client", "contact_id")
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={
            c.name: stmt.excluded[c.name] for c in t.contacts.columns if c.name not in keys})
        self.conn.execute(stmt, values)

    def add_events(self, client: str, events: Sequence[Event]) -> None:
        if not events:
            return
        unique = {e.id: e for e in events}
        # the newest reading of an event wins, as in the sync's merge: an event an adapter
        # builds from the contact's properties (HubSpot Starter: the last open) may be
        # dated anew by a later engagement, and the next run must see what this one scored
        stmt = self.upsert(t.events)
        stmt = stmt.on_conflict_do_update(
            index_elements=["client", "event_id"],
            set_={c: stmt.excluded[c] for c in ("contact_id", "type", "occurred_at", "url",
                                                "email_id", "name")})
        self.conn.execute(stmt, [
            {"client": client, "event_id": e.id, "contact_id": e.contact_id, "type": str(e.type),
             "occurred_at": e.occurred_at, "url": e.url, "email_id": e.email_id,
             "name": e.name} for e in unique.values()])

    def add_transitions(self, client: str, run_id: str | None,
                        items: Sequence[Transition]) -> None:
        now = t.utcnow()
        self.conn.execute(insert(t.transitions), [
            {"client": client, "run_id": run_id, "contact_id": i.contact_id,
             "kind": i.kind.value, "score": i.score, "from_tier": i.from_tier,
             "to_tier": i.to_tier, "warm_episode": i.warm_episode, "at": now} for i in items])

    def enqueue(self, entry: OutboxEntry) -> bool:
        now = t.utcnow()
        stmt = self.upsert(t.outbox).values(
            client=entry.client, contact_id=entry.contact_id, kind=entry.kind,
            dedupe_key=entry.dedupe_key, payload=entry.payload, status=entry.status,
            hold_reason=entry.hold_reason, attempts=0, created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=["client", "dedupe_key"]).returning(
            t.outbox.c.id)
        return self.conn.execute(stmt).first() is not None

    def set_bookmark(self, client: str, stream: str, value: datetime) -> None:
        stmt = self.upsert(t.bookmarks).values(client=client, stream=stream, value=value)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=["client", "stream"],
                                                     set_={"value": value}))

    def add_failed_writes(self, client: str, items: Mapping[str, tuple[int, str]]) -> None:
        now = t.utcnow()
        stmt = self.upsert(t.failed_writes)
        stmt = stmt.on_conflict_do_update(index_elements=["client", "contact_id"], set_={
            "score": stmt.excluded.score, "reason": stmt.excluded.reason,
            "at": stmt.excluded.at})
        self.conn.execute(stmt, [{"client": client, "contact_id": cid, "score": score,
                                  "reason": reason[:1000], "at": now}
                                 for cid, (score, reason) in items.items()])

    def clear_failed_writes(self, client: str, ids: Sequence[str]) -> None:
        for chunk in iter_chunks(list(ids)):
            self.conn.execute(delete(t.failed_writes).where(and_(
                t.failed_writes.c.client == client, t.failed_writes.c.contact_id.in_(chunk))))

    def record_skipped(self, client: str, contact_id: str, reason: str,
                       run_id: str | None) -> None:
        stmt = self.upsert(t.skipped).values(client=client, contact_id=contact_id,
                                             reason=reason[:1000], run_id=run_id,
                                             at=t.utcnow())
        self.conn.execute(stmt.on_conflict_do_update(
            index_elements=["client", "contact_id"],
            set_={"reason": reason[:1000], "run_id": run_id, "at": t.utcnow()}))


def _contact_values(r: StoredContact) -> dict[str, Any]:
    return {name: getattr(r, name) for name in StoredContact.__slots__}


def _contact(row: Any) -> StoredContact:
    m = row._mapping
    return StoredContact(**{name: m[name] for name in StoredContact.__slots__
                            if name in m}) if m else None  # type: ignore[return-value]


def _entry(row: Any, **overrides: Any) -> OutboxEntry:
    m = dict(row._mapping)
    m.update(overrides)
    return OutboxEntry(**{k: m[k] for k in OutboxEntry.__slots__ if k in m})
