"""Where an adapter keeps an account-wide activity stream while a run uses it.

ActiveCampaign's account-wide ``GET /activities`` lists every activity of the account (a
100,000-contact account: about 770,000 rows). Held in memory for the run, it made the
process grow with the account (424 MB at 100,000 contacts). The adapter hands the stream
to a spool a window of pages at a time and asks it for one batch of contacts at a time,
so no list as large as the account is held. ``MemorySpool`` is the reference (what an
adapter built without a state store uses); ``connector/store/spool.py`` keeps the rows in
the state store (SQLite or PostgreSQL), which ``connector.sync.runtime.make_job`` hands to
every adapter that takes one (``TakesSpool``).

A row is (contact id, event id, event): the event is None where the stream only names an
id (a site visit, read later from the contact's tracking logs). A spool holds several
streams of one run, each under the number ``new_stream`` gave it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from connector.models import Event

SpoolRow = tuple[str, str, Event | None]  # (contact id, event id, event or None)


class ActivitySpool(Protocol):
    """The streams of one client's run, each read back a batch of contacts at a time."""

    def new_stream(self) -> int:
        """A new, empty stream; its number."""
        ...

    def add(self, stream: int, rows: Sequence[SpoolRow]) -> None:
        """Append ``rows`` to ``stream``, in the order the CRM listed them."""
        ...

    def events(self, stream: int, contact_ids: Sequence[str]) -> dict[str, list[Event]]:
        """The events of these contacts in ``stream``, in stream order (contacts without
        any are left out)."""
        ...

    def named(self, stream: int, contact_ids: Sequence[str]) -> dict[str, set[str]]:
        """The ids ``stream`` names for these contacts: events and named ids alike."""
        ...

    def contact_ids(self, stream: int) -> Iterator[str]:
        """Every contact ``stream`` names, once each."""
        ...

    def count(self, stream: int) -> int:
        """How many contacts ``stream`` names."""
        ...

    def clear(self) -> None:
        """Forget every stream (a new run, or the adapter closed)."""
        ...


@runtime_checkable
class TakesSpool(Protocol):
    """An adapter that can keep its activity stream in a spool other than memory."""

    def use_spool(self, spool: ActivitySpool) -> None: ...


class MemorySpool:
    """The reference spool: dictionaries in memory (the stream grows the process)."""

    def __init__(self) -> None:
        self._events: dict[int, dict[str, list[Event]]] = {}
        self._named: dict[int, dict[str, set[str]]] = {}

    def new_stream(self) -> int:
        number = max(self._named, default=0) + 1
        self._events[number], self._named[number] = {}, {}
        return number

    def add(self, stream: int, rows: Sequence[SpoolRow]) -> None:
        events, named = self._events[stream], self._named[stream]
        for contact_id, event_id, event in rows:
            named.setdefault(contact_id, set()).add(event_id)
            if event is not None:
                events.setdefault(contact_id, []).append(event)

    def events(self, stream: int, contact_ids: Sequence[str]) -> dict[str, list[Event]]:
        held = self._events.get(stream, {})
        return {cid: list(held[cid]) for cid in contact_ids if cid in held}

    def named(self, stream: int, contact_ids: Sequence[str]) -> dict[str, set[str]]:
        held = self._named.get(stream, {})
        return {cid: set(held[cid]) for cid in contact_ids if cid in held}

    def contact_ids(self, stream: int) -> Iterator[str]:
        return iter(list(self._named.get(stream, {})))

    def count(self, stream: int) -> int:
        return len(self._named.get(stream, {}))

    def clear(self) -> None:
        self._events.clear()
        self._named.clear()


class Engaged(Mapping[str, set[str]]):
    """``CRM.engaged`` read from a spooled stream: contact id -> the ids it names, one
    contact (or one iteration) at a time."""

    def __init__(self, spool: ActivitySpool, stream: int) -> None:
        self.spool, self.stream = spool, stream

    def __getitem__(self, contact_id: str) -> set[str]:
        try:
            return self.spool.named(self.stream, [contact_id])[contact_id]
        except KeyError:
            raise KeyError(contact_id) from None

    def __iter__(self) -> Iterator[str]:
        return self.spool.contact_ids(self.stream)

    def __len__(self) -> int:
        return self.spool.count(self.stream)
