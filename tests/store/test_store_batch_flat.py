"""A batch's store work does not grow with the account (issue 17): the events of a batch's
contacts are read through an index on (client, contact_id), never by reading every event
of the client. The time of one batch at 10k and at 200k stored events is printed as a
ratio (timing is the benchmarks' business, not an assertion here); the query plan is
asserted on SQLite."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from connector.models import Event, EventType
from connector.store import open_store
from connector.store.base import StoredContact

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
BATCH = 500
PER_CONTACT = 20


def _events(first: int, contacts: int) -> list[Event]:
    return [Event(f"e-{cid}-{i}", str(cid), EventType.PAGE_VIEW,
                  NOW - timedelta(hours=i), url=f"https://x.example/{i}")
            for cid in range(first, first + contacts) for i in range(PER_CONTACT)]


def _row(cid: str) -> StoredContact:
    return StoredContact(client="c", contact_id=cid, email=f"{cid}@x.com", score=5,
                         tier="cold", warm=False, at_floor=False, warm_episode=0,
                         next_change_at=NOW + timedelta(days=3), explanation_digest=None,
                         explanation=[], interests={}, activity_signature=None,
                         last_scored_at=NOW, updated_at_crm=NOW, owner_id=None, total=5)


def _fill(store, first: int, contacts: int) -> None:
    for start in range(first, first + contacts, 2_000):
        with store.transaction() as tx:
            tx.add_events("c", _events(start, min(2_000, first + contacts - start)))
            tx.save_contacts([_row(str(c)) for c in
                              range(start, min(start + 2_000, first + contacts))])


def _one_batch(store, first: int) -> float:
    """The store work of one sync batch: read its state and events, save them back."""
    ids = [str(c) for c in range(first, first + BATCH)]
    began = time.perf_counter()
    for _ in range(3):
        store.get_contacts("c", ids)
        cached = store.get_events("c", ids)
        store.due_contacts("c", NOW)
        with store.transaction() as tx:
            tx.save_contacts([_row(cid) for cid in ids])
            tx.add_events("c", [e for evs in cached.values() for e in evs][:BATCH])
    assert sum(len(v) for v in cached.values()) == BATCH * PER_CONTACT
    return (time.perf_counter() - began) / 3


def test_one_batch_costs_the_same_at_10k_and_200k_stored_events(store_url):
    store = open_store(store_url)
    try:
        _fill(store, 0, 10_000 // PER_CONTACT)
        small = _one_batch(store, 0)
        _fill(store, 10_000 // PER_CONTACT, 190_000 // PER_CONTACT)
        large = _one_batch(store, 0)
        print(f"\n{store_url.split(':')[0]}: one batch's store work at 10k stored events "
              f"{small * 1000:.1f} ms, at 200k {large * 1000:.1f} ms: ratio "
              f"{large / small:.2f}")
        if store_url.startswith("sqlite"):
            with store.engine.connect() as conn:
                plan = " ".join(str(r) for r in conn.execute(text(
                    "EXPLAIN QUERY PLAN SELECT * FROM events WHERE client = 'c' "
                    "AND contact_id IN ('1', '2') ORDER BY occurred_at, event_id")))
                assert "ix_events_client_contact" in plan, plan
                plan = " ".join(str(r) for r in conn.execute(text(
                    "EXPLAIN QUERY PLAN SELECT contact_id FROM contacts WHERE client = 'c' "
                    "AND next_change_at <= '2026-11-02'")))
                assert "ix_contacts_client_next_change" in plan, plan
    finally:
        store.close()
