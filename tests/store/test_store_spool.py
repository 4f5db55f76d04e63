"""The activity spool (``connector/crm/spool.py``): the state store's (SQLite, PostgreSQL)
gives back what the in-memory reference gives, and a spool touches only its own rows."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from connector.crm.spool import Engaged, MemorySpool
from connector.models import Event, EventType
from connector.store import open_store, tables
from connector.store import spool as sql_spool
from connector.store.spool import SqlActivitySpool, activity_spool

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _rows(contacts: int) -> list[tuple[str, str, Event | None]]:
    rows: list[tuple[str, str, Event | None]] = []
    for i in range(contacts):
        cid = f"{i:03d}"
        rows.append((cid, f"ac-act-{i}-b", Event(f"ac-act-{i}-b", cid, EventType.EMAIL_CLICK,
                                                 AT + timedelta(minutes=i), url="https://a/x",
                                                 email_id="7")))
        rows.append((cid, f"ac-trk-{i}", None))  # a visit: named, not an event
        rows.append((cid, f"ac-act-{i}-a", Event(f"ac-act-{i}-a", cid, EventType.EMAIL_OPEN,
                                                 AT, email_id="7")))
    return rows


@pytest.fixture(params=["memory", "store"])
def spool(request, store_url, monkeypatch):
    if request.param == "memory":
        yield MemorySpool()
        return
    monkeypatch.setattr(sql_spool, "PAGE", 2)  # contact_ids pages through several pages
    store = open_store(store_url)
    yield activity_spool(store, "acme")
    store.close()


def test_a_spool_gives_back_each_contacts_rows_in_stream_order(spool):
    first, second = spool.new_stream(), spool.new_stream()
    rows = _rows(5)
    spool.add(first, rows[:7])
    spool.add(first, rows[7:])
    spool.add(second, [("009", "ac-act-x", None)])
    events = spool.events(first, ["001", "004", "nobody"])
    assert sorted(events) == ["001", "004"]
    assert [(e.id, e.type, e.occurred_at, e.url, e.email_id) for e in events["001"]] == [
        ("ac-act-1-b", EventType.EMAIL_CLICK, AT + timedelta(minutes=1), "https://a/x", "7"),
        ("ac-act-1-a", EventType.EMAIL_OPEN, AT, None, "7")]
    assert spool.named(first, ["002", "nobody"]) == {
        "002": {"ac-act-2-b", "ac-trk-2", "ac-act-2-a"}}
    assert sorted(spool.contact_ids(first)) == ["000", "001", "002", "003", "004"]
    assert spool.count(first) == 5 and list(spool.contact_ids(second)) == ["009"]
    engaged = Engaged(spool, first)
    assert "003" in engaged and "009" not in engaged and len(engaged) == 5
    assert engaged.get("000") == {"ac-act-0-b", "ac-trk-0", "ac-act-0-a"}
    spool.clear()
    assert spool.events(first, ["001"]) == {} and spool.count(first) == 0


def _left(store) -> int:
    with store.engine.begin() as conn:
        return conn.execute(select(func.count()).select_from(tables.activity_spool)).scalar()


def test_a_spool_clears_its_own_rows_and_those_of_dead_processes_only(store_url):
    store = open_store(store_url)
    running = activity_spool(store, "acme")
    running.add(running.new_stream(), _rows(2))
    other_client = activity_spool(store, "globex")
    other_client.add(other_client.new_stream(), _rows(1))
    dead = SqlActivitySpool(store.engine, "acme")
    dead.owner = f"{socket.gethostname()[:80]}:{2**22 + 12345}:deadbeef0000"  # no such pid
    dead.add(dead.new_stream(), _rows(3))
    assert _left(store) == 3 * (2 + 1 + 3)
    dry_run = activity_spool(store, "acme")  # opens beside the running sync
    assert _left(store) == 3 * (2 + 1)  # the dead process's rows went, the others stay
    dry_run.add(dry_run.new_stream(), _rows(4))
    dry_run.clear()
    assert running.count(1) == 2 and other_client.count(1) == 1
    running.clear()
    other_client.clear()
    assert _left(store) == 0
    store.close()
