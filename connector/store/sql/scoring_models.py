"""The scoring models a client's syncs used (kept by hash, with their text) and the
contacts another model scored, which a model change rescores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import and_, or_, select

from connector.store import tables as t
from connector.store.base import StoredModel
from connector.store.sql.engine import Database


class ModelRows(Database):
    """Scoring models and the contacts each scored."""

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
