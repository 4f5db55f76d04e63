"""After a model change the sync reads the contacts another model scored a page at a time
(issue 25, item 5): every one of them, each once, in pages no larger than asked, also when
each page is rescored (its model recorded) before the next is read; on SQLite and
PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from itertools import islice

from connector.sandbox.stored_state import CLIENT, stored_people
from connector.store import open_store


def test_contacts_of_another_model_come_in_pages_each_once(store_url):
    store = open_store(store_url)
    people = [s for s, _ in islice(stored_people(2_300), 2_300)]
    rows = [replace(s, model_hash="new" if i % 10 == 0 else None if i % 10 == 1 else "old")
            for i, s in enumerate(people)]
    with store.transaction() as tx:
        tx.save_contacts(rows)
    others = set(store.contacts_with_other_model(CLIENT, "new"))
    assert len(others) == 2_300 * 8 // 10
    pages = list(store.iter_contacts_with_other_model(CLIENT, "new", chunk=500))
    assert [len(p) for p in pages] == [500, 500, 500, 340]
    assert sorted(cid for p in pages for cid in p) == sorted(others)
    # as the sync does: each page rescored (recorded with the new model) before the next
    seen: list[str] = []
    for page in store.iter_contacts_with_other_model(CLIENT, "new", chunk=500):
        seen += page
        with store.transaction() as tx:
            tx.save_contacts([replace(s, model_hash="new")
                              for s in store.get_contacts(CLIENT, page).values()])
    assert sorted(seen) == sorted(others)
    assert store.contacts_with_other_model(CLIENT, "new") == []
    assert list(store.iter_contacts_with_other_model(CLIENT, "new")) == []
