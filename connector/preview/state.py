"""What a rules preview reads from the state store (reads only): the stored contacts with
their events, the salespeople earlier invites named, and the actions earlier runs left
pending."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from connector.models import Event, Owner
from connector.store.base import Store, StoredContact


def pending_from_state(store: Store, client: str) -> Counter[str]:
    """Invites and unsubscribes earlier runs left pending, never tried: the run guard
    counts them with the next sync's own."""
    return Counter(e.kind for e in store.outbox(client, ["pending"])
                   if e.attempts == 0 and e.released_at is None
                   and e.kind in ("invite", "unsubscribe"))


def people_from_store(store: Store, client: str,
                      ) -> Iterator[tuple[StoredContact, list[Event]]]:
    """Every stored contact of ``client`` with its stored events (reads only)."""
    for page in store.iter_scoring_state(client):
        yield from page


def owners_from_state(store: Store, client: str) -> dict[str, Owner]:
    """Salespeople named in earlier invites and notes (the outbox keeps their names)."""
    owners: dict[str, Owner] = {}
    for entry in store.outbox(client):
        p = entry.payload or {}
        oid, name, email = p.get("owner_id"), p.get("owner_name"), p.get("owner_email")
        if oid and oid != "fallback" and name and email:
            owners[str(oid)] = Owner(id=str(oid), name=str(name), email=str(email))
    return owners
