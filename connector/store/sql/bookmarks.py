"""Where the next sync starts: each stream's bookmark, and the contacts a webhook marked
as changed (the targeted sync's work list)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, select

from connector.store import tables as t
from connector.store.base import iter_chunks
from connector.store.sql.engine import Database
from connector.store.sql.transaction import Tx


class BookmarkRows(Database):
    """Bookmarks and dirty contacts."""

    def get_bookmark(self, client: str, stream: str) -> datetime | None:
        with self._conn() as conn:
            return conn.execute(select(t.bookmarks.c.value).where(and_(
                t.bookmarks.c.client == client, t.bookmarks.c.stream == stream))).scalar()

    def set_bookmark(self, client: str, stream: str, value: datetime) -> None:
        with self._conn() as conn:
            Tx(conn, self.upsert).set_bookmark(client, stream, value)

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
