"""The backtest: every contact as it was at ``as_of``, and whether it became a customer
after it (up to ``end``).

Ground truth comes from the CRM and is kept in state by every sync: HubSpot's lifecycle
stage *customer* (with ``hs_lifecyclestage_customer_date``) and ActiveCampaign's won deals.
Contacts that were customers already, or did not exist yet, at ``as_of`` are left out:
they say nothing about whether the score predicted the purchase.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connector.errors import ConfigError
from connector.models import Contact, Event
from connector.store.base import Store


@dataclass(frozen=True, slots=True)
class Case:
    """One contact in the backtest: its fit data, its whole event history (the engine
    ignores events after the scoring time) and the outcome after ``as_of``."""

    contact: Contact
    events: tuple[Event, ...]
    converted: bool

    @property
    def holdout(self) -> bool:
        """A stable 30 % of contacts (by id) held out from learning."""
        digest = hashlib.sha256(self.contact.id.encode()).digest()
        return digest[0] * 100 // 256 < 30


@dataclass
class Dataset:
    as_of: datetime
    end: datetime
    cases: list[Case]
    left_out: Counter[str] = field(default_factory=Counter)

    @property
    def positives(self) -> int:
        return sum(1 for c in self.cases if c.converted)

    def split(self) -> tuple[list[Case], list[Case]]:
        """(training, held-out) by the stable hash of the contact id."""
        train = [c for c in self.cases if not c.holdout]
        test = [c for c in self.cases if c.holdout]
        return train, test


def build(people: Iterable[tuple[Contact, Iterable[Event]]], as_of: datetime,
          end: datetime) -> Dataset:
    """The backtest over ``people``: contacts with their events (all of them)."""
    if as_of >= end:
        raise ConfigError(f"the split date {as_of:%Y-%m-%d} is not before the end of the "
                          f"data ({end:%Y-%m-%d})", field="--as-of",
                          fix="pick an earlier --as-of or a shorter --horizon")
    data = Dataset(as_of=as_of, end=end, cases=[])
    for contact, events in people:
        evs = tuple(events)
        if contact.customer_at is not None and contact.customer_at <= as_of:
            data.left_out["customer before the split"] += 1
            continue
        if contact.is_customer and contact.customer_at is None:
            data.left_out["customer without a date"] += 1
            continue
        born = contact.created_at or min((e.occurred_at for e in evs), default=None)
        if born is not None and born > as_of:
            data.left_out["created after the split"] += 1
            continue
        converted = (contact.is_customer and contact.customer_at is not None
                     and as_of < contact.customer_at <= end)
        data.cases.append(Case(contact=contact, events=evs, converted=converted))
    return data


def data_end(people: Iterable[tuple[Contact, Iterable[Event]]]) -> datetime | None:
    """The latest moment the data knows of (an event or a purchase)."""
    latest: datetime | None = None
    for contact, events in people:
        for when in [contact.customer_at, *(e.occurred_at for e in events)]:
            if when is not None and (latest is None or when > latest):
                latest = when
    return latest


def split_dates(end: datetime, as_of: datetime | None, horizon: timedelta,
                ) -> tuple[datetime, datetime]:
    """``(as_of, end)``: by default the split is ``horizon`` before the end of the data."""
    return (as_of if as_of is not None else end - horizon), end


def from_store(store: Store, client: str) -> list[tuple[Contact, list[Event]]]:
    """Every contact of ``client`` in state with its stored events."""
    people: list[tuple[Contact, list[Event]]] = []
    for chunk in store.iter_contacts(client):
        events = store.get_events(client, [s.contact_id for s in chunk])
        people.extend((s.as_contact(), events.get(s.contact_id, [])) for s in chunk)
    return people
