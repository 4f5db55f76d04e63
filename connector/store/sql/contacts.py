"""The stored contacts and their events, read back: by id, due by time, best first, all in
pages; and the contacts whose score could not be written or were skipped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from connector.models import Event
from connector.store import tables as t
from connector.store.base import StoredContact, iter_chunks
from connector.store.sql.engine import Database


class ContactRows(Database):
    """Reading stored contacts and events."""

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

    def iter_scoring_state(self, client: str, chunk: int = 2000,
                           ) -> Iterator[list[tuple[StoredContact, list[Event]]]]:
        """Every contact of a client with its events (in time order), in pages of ``chunk``
        (keyset paging by id: memory stays flat): two queries a page, the page's events in
        one id range. Only what rescoring reads: the stored explanation and interests are
        not read (empty here), nor the schedule and write-back columns (None)."""
        c, e = t.contacts.c, t.events.c
        after = ""
        while True:
            with self._conn() as conn:
                page = [_scoring_contact(client, row) for row in conn.execute(
                    select(*(c[name] for name in _SCORING_COLUMNS))
                    .where(and_(c.client == client, c.contact_id > after))
                    .order_by(c.contact_id).limit(chunk)).all()]
                if not page:
                    return
                events: dict[str, list[Event]] = {s.contact_id: [] for s in page}
                for row in conn.execute(
                        select(e.contact_id, e.event_id, e.type, e.occurred_at, e.url,
                               e.email_id, e.name)
                        .where(and_(e.client == client, e.contact_id > after,
                                    e.contact_id <= page[-1].contact_id))
                        .order_by(e.contact_id, e.occurred_at, e.event_id)).all():
                    bucket = events.get(row[0])
                    if bucket is not None:  # an event of a contact not stored is no one's
                        bucket.append(Event(row[1], row[0], row[2], row[3], row[4], row[5],
                                            row[6]))
            yield [(s, events[s.contact_id]) for s in page]
            after = page[-1].contact_id

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


def _contact(row: Any) -> StoredContact:
    m = row._mapping
    return StoredContact(**{name: m[name] for name in StoredContact.__slots__
                            if name in m}) if m else None  # type: ignore[return-value]


# the columns ``iter_scoring_state`` reads, in the order ``_scoring_contact`` takes them
_SCORING_COLUMNS = ("contact_id", "email", "score", "tier", "warm", "at_floor", "warm_episode",
                    "activity_signature", "updated_at_crm", "owner_id", "fields", "total",
                    "created_at_crm", "is_customer", "customer_at", "model_hash")


def _scoring_contact(client: str, row: Any) -> StoredContact:
    (contact_id, email, score, tier, warm, at_floor, episode, signature, updated, owner,
     fields, total, created, customer, customer_at, model_hash) = row
    return StoredContact(client, contact_id, email, score, tier, warm, at_floor, episode,
                         None, None, [], {}, signature, None, updated, owner, fields, total,
                         created, customer, customer_at, model_hash)
