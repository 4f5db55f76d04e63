"""The state store on SQLite and PostgreSQL: isolation, leases, outbox, bookmarks."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from connector.errors import LeaseHeld, StateError
from connector.models import Event, EventType
from connector.store import OutboxEntry, StoredContact, open_store
from connector.sync.status import status

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def row(client: str, cid: str, total: int) -> StoredContact:
    return StoredContact(client=client, contact_id=cid, email=f"{cid}@x.com", score=total,
                         tier="warm", warm=total >= 30, at_floor=False, warm_episode=1,
                         next_change_at=NOW + timedelta(days=14), explanation_digest="d",
                         explanation=[{"rule_id": "r", "points": total}],
                         interests={"seo": total}, activity_signature="1|2",
                         last_scored_at=NOW, updated_at_crm=NOW, owner_id=None,
                         fields={"job_title": "CEO 💼"}, total=total)


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def test_clients_never_see_each_others_rows(store):
    with store.transaction() as tx:
        tx.save_contacts([row("a", "1", 40), row("b", "1", 5)])
        tx.add_events("a", [Event("e1", "1", EventType.PAGE_VIEW, NOW, url="u")])
        tx.set_bookmark("a", "contacts", NOW)
        tx.enqueue(OutboxEntry("a", "1", "invite", "invite:1:1", {"x": 1}))
    assert store.get_contacts("b", ["1"])["1"].total == 5
    assert store.get_contacts("a", ["1"])["1"].fields == {"job_title": "CEO 💼"}
    assert store.get_events("b", ["1"]) == {}
    assert store.get_bookmark("b", "contacts") is None
    assert store.outbox("b") == [] and len(store.outbox("a")) == 1
    assert [r.contact_id for r in store.top_contacts("a", 5)] == ["1"]


def test_bookmarks_round_trip_as_aware_utc(store):
    store.set_bookmark("a", "contacts", NOW)
    assert store.get_bookmark("a", "contacts") == NOW
    assert store.get_bookmark("a", "contacts").tzinfo is not None


def test_outbox_dedupes_by_warm_up(store):
    entry = OutboxEntry("a", "1", "invite", "invite:1:1", {})
    with store.transaction() as tx:
        assert tx.enqueue(entry) is True
        assert tx.enqueue(entry) is False
    with store.transaction() as tx:
        assert tx.enqueue(OutboxEntry("a", "1", "invite", "invite:1:2", {})) is True


def test_claim_commits_sending_and_a_crash_leaves_unknown(store):
    with store.transaction() as tx:
        tx.enqueue(OutboxEntry("a", "1", "invite", "invite:1:1", {}))
    claimed = store.claim_next("a", NOW)
    assert claimed.status == "sending"
    assert store.claim_next("a", NOW) is None
    [unknown] = store.recover_interrupted("a", NOW)
    assert unknown.dedupe_key == "invite:1:1"
    assert [e.status for e in store.outbox("a")] == ["unknown"]
    assert status(store)["clients"]["a"]["unknown"]


def test_deferred_entry_waits_for_its_next_attempt_then_can_fail(store):
    with store.transaction() as tx:
        tx.enqueue(OutboxEntry("a", "1", "notify", "notify:1:1", {}))
    entry = store.claim_next("a", NOW)
    store.defer(entry.id, "451 try later", NOW + timedelta(minutes=2), NOW)
    assert store.claim_next("a", NOW + timedelta(minutes=1)) is None
    again = store.claim_next("a", NOW + timedelta(minutes=2))
    assert again.attempts == 2 and again.first_attempt_at == NOW
    store.mark_failed(again.id, "550 no such user", NOW)
    [row] = store.outbox("a")
    assert (row.status, row.last_error, row.next_attempt_at) == ("failed", "550 no such user",
                                                                 None)
    assert store.requeue_failed("a", row.id, NOW) and not store.requeue_failed("b", row.id, NOW)
    assert store.claim_next("a", NOW).first_attempt_at == NOW


def test_transaction_rolls_back_on_error(store):
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.save_contacts([row("a", "1", 40)])
        raise RuntimeError("crash mid-batch")
    assert store.get_contacts("a", ["1"]) == {}


def test_lease_is_exclusive_and_expires(store, store_url):
    store.acquire_lease("a", "one", 60, NOW)
    other = open_store(store_url)
    with pytest.raises(LeaseHeld, match="one"):
        other.acquire_lease("a", "two", 60, NOW)
    other.acquire_lease("b", "two", 60, NOW)  # another client is free
    other.acquire_lease("a", "two", 60, NOW + timedelta(seconds=61))  # expired: taken over
    other.close()


RACE = """
import sys
from datetime import datetime, UTC
from connector.errors import LeaseHeld
from connector.store import open_store
store = open_store(sys.argv[1])
try:
    store.acquire_lease("race", sys.argv[2], 60, datetime(2026, 11, 2, 9, tzinfo=UTC))
    print("won")
except LeaseHeld:
    print("lost")
"""


def test_lease_race_between_processes_has_one_winner(store_url):
    open_store(store_url).close()
    procs = [subprocess.Popen([sys.executable, "-c", RACE, store_url, f"p{i}"],
                              stdout=subprocess.PIPE, text=True) for i in range(4)]
    outcomes = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]


def test_unreachable_database_is_a_clear_error_without_password():
    with pytest.raises(StateError) as info:
        open_store("postgresql+psycopg://user:s3cret-pw@127.0.0.1:1/none")
    assert "s3cret-pw" not in str(info.value) and "***" in str(info.value)


def test_migrations_are_idempotent(store_url):
    open_store(store_url).close()
    again = open_store(store_url)
    assert status(again) == {"clients": {}}
    again.close()


def test_outcomes_are_kept_and_all_contacts_page_through(store):
    won = NOW - timedelta(days=3)
    rows = [row("a", f"{i:03d}", i) for i in range(25)]
    rows[7] = StoredContact(**{**{k: getattr(rows[7], k) for k in StoredContact.__slots__},
                               "is_customer": True, "customer_at": won,
                               "created_at_crm": NOW - timedelta(days=90)})
    with store.transaction() as tx:
        tx.save_contacts([*rows, row("b", "999", 1)])
    pages = list(store.iter_contacts("a", chunk=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    seen = [s.contact_id for p in pages for s in p]
    assert seen == sorted(seen) and "999" not in seen and len(set(seen)) == 25
    buyer = store.get_contacts("a", ["007"])["007"].as_contact()
    assert buyer.is_customer and buyer.customer_at == won
    assert buyer.created_at == NOW - timedelta(days=90)
    assert not store.get_contacts("a", ["008"])["008"].is_customer


def test_scoring_state_pages_contacts_with_their_events_as_the_full_reads_do(store):
    """`rules preview` reads contacts with their events a page at a time (two queries a
    page): the same contact (as the scoring sees it) and the same events in the same order
    as get_contacts and get_events, no other client's rows, and an event whose contact is
    not stored on no one."""
    rows = [row("a", f"{i:03d}", i) for i in range(25)]
    rows[7] = StoredContact(**{**{k: getattr(rows[7], k) for k in StoredContact.__slots__},
                               "is_customer": True, "customer_at": NOW - timedelta(days=3),
                               "created_at_crm": NOW - timedelta(days=90),
                               "model_hash": "abc"})
    same_time = NOW - timedelta(days=1)
    events = [Event(f"e{n}", f"{n % 12:03d}", EventType.PAGE_VIEW,
                    NOW - timedelta(hours=n % 5), url=f"u{n}") for n in range(40)]
    events += [Event("z", "003", EventType.EMAIL_OPEN, same_time, email_id="nl"),
               Event("y", "003", EventType.EMAIL_OPEN, same_time, email_id="nl"),
               Event("x", "0035", EventType.PAGE_VIEW, same_time, url="orphan")]
    with store.transaction() as tx:
        tx.save_contacts([*rows, row("b", "003", 1)])
        tx.add_events("a", events)
        tx.add_events("b", [Event("b1", "003", EventType.PAGE_VIEW, NOW, url="b")])
    pages = list(store.iter_scoring_state("a", chunk=10))
    assert [len(p) for p in pages] == [10, 10, 5]
    got = [pair for page in pages for pair in page]
    ids = [s.contact_id for s, _ in got]
    assert ids == sorted(r.contact_id for r in rows)
    full = store.get_contacts("a", ids)
    stored_events = store.get_events("a", ids)
    for stored, evs in got:
        expected = full[stored.contact_id]
        assert stored.as_contact() == expected.as_contact()
        for name in ("score", "tier", "warm", "at_floor", "warm_episode", "total",
                     "model_hash"):
            assert getattr(stored, name) == getattr(expected, name)
        assert evs == stored_events.get(stored.contact_id, [])
    by_id = {s.contact_id: [e.id for e in evs] for s, evs in got}
    assert by_id["003"][:2] == ["y", "z"] and "b1" not in by_id["003"]  # time, then id
    assert by_id["020"] == [] and all("x" not in ids for ids in by_id.values())
