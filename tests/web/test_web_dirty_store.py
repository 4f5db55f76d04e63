"""Dirty marks in the state store, on SQLite and PostgreSQL: a mark is idempotent and keeps
its first time; clearing up to a sync's start leaves a contact marked again meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector.store import open_store

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_marks_are_per_client_idempotent_and_a_newer_mark_outlives_the_clear(store_url):
    store = open_store(store_url)
    try:
        store.mark_dirty("acme", ["1", "2", "2"], "hubspot webhook", T0)
        store.mark_dirty("acme", ["2"], "hubspot webhook", T0 + timedelta(seconds=5))
        store.mark_dirty("nordic", ["1"], "activecampaign webhook", T0)
        assert store.dirty_contacts("acme") == {"1": T0, "2": T0}  # the first mark's time
        assert store.dirty_clients() == ["acme", "nordic"]
        store.clear_dirty("acme", ["1", "2"], T0 + timedelta(seconds=1))  # sync started
        assert store.dirty_contacts("acme") == {"2": T0}  # marked again during the sync
        assert store.dirty_contacts("nordic") == {"1": T0}
        store.clear_dirty("acme", ["2"], T0 + timedelta(seconds=10))
        assert store.dirty_contacts("acme") == {}
    finally:
        store.close()
