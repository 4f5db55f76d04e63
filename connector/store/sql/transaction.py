"""One sync's writes as one unit of work: contacts' state, events, transitions, outbox
entries, bookmarks, failed writes and skips commit together or not at all."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert
from sqlalchemy.engine import Connection

from connector.models import Event, Transition
from connector.store import tables as t
from connector.store.base import OutboxEntry, StoredContact, iter_chunks
from connector.store.sql.engine import Database


class Transactions(Database):
    """Opening a unit of work."""

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._conn() as conn:
            yield Tx(conn, self.upsert)


class Tx:
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
