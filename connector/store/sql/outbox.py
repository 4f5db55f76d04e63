"""The actions outbox: entries claimed one at a time for delivery, marked sent, deferred,
failed or unknown, held, queued and released, and settled by a person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from connector.store import tables as t
from connector.store.base import OutboxEntry, iter_chunks
from connector.store.sql.engine import Database


class OutboxRows(Database):
    """Outbox entries and their states."""

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

    def action_counts(self, client: str) -> dict[str, int]:
        """The client's outbox entries by status."""
        with self._conn() as conn:
            return dict(conn.execute(select(t.outbox.c.status, func.count()).where(
                t.outbox.c.client == client).group_by(t.outbox.c.status)).all())


def _entry(row: Any, **overrides: Any) -> OutboxEntry:
    m = dict(row._mapping)
    m.update(overrides)
    return OutboxEntry(**{k: m[k] for k in OutboxEntry.__slots__ if k in m})
