"""The reference CRM: everything in memory, the protocol's semantics and nothing else.

It behaves like a real CRM where it matters to the sync: writing the score bumps the
contact's modification time, unknown ids fail per record, owners may be missing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from connector.clock import Clock, SystemClock
from connector.crm.base import ALL_CAPABILITIES, PullNotes, ScoreProperty, WriteReport
from connector.errors import FixConfiguration
from connector.models import Contact, Event, Owner


@dataclass
class MemoryTask:
    id: str
    contact_id: str
    owner_id: str | None
    subject: str
    body: str


@dataclass
class MemoryAccount:
    """The data behind a :class:`MemoryCRM`; tests mutate it to play the CRM's users."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)
    owners: dict[str, Owner] = field(default_factory=dict)
    properties: dict[str, ScoreProperty] = field(default_factory=dict)
    tags: dict[str, set[str]] = field(default_factory=dict)
    automations: list[tuple[str, str]] = field(default_factory=list)
    unsubscribed: dict[str, str | None] = field(default_factory=dict)
    tasks: list[MemoryTask] = field(default_factory=list)
    invited_at: dict[str, datetime] = field(default_factory=dict)


class MemoryCRM:
    """In-memory implementation of :class:`connector.crm.base.CRM`."""

    kind = "memory"
    batch_size = 100
    capabilities = ALL_CAPABILITIES
    incremental_ordered = False  # the sync moves its bookmark only at the end of a pull
    engaged: Mapping[str, set[str]] | None = None

    def __init__(self, account: MemoryAccount | None = None, *, clock: Clock | None = None,
                 score_property: str = "connector_lead_score") -> None:
        self.account = account or MemoryAccount()
        self.clock: Clock = clock or SystemClock()
        self.score_property = score_property
        self.notes = PullNotes()
        self.calls: Counter[str] = Counter()

    # -- seeding (tests, demo) -------------------------------------------------------
    def load(self, contacts: Iterable[Contact], events: Iterable[Event] = (),
             owners: Iterable[Owner] = ()) -> None:
        for owner in owners:
            self.account.owners[owner.id] = owner
        for contact in contacts:
            self.account.contacts[contact.id] = contact
            self.account.events.setdefault(contact.id, [])
        for event in events:
            self.account.events.setdefault(event.contact_id, []).append(event)

    def add_event(self, event: Event) -> None:
        """The contact did something: store the event and bump the contact's update time."""
        self.account.events.setdefault(event.contact_id, []).append(event)
        self._touch(event.contact_id)

    def _touch(self, contact_id: str, **changes: Any) -> None:
        contact = self.account.contacts[contact_id]
        self.account.contacts[contact_id] = replace(contact, updated_at=self.clock.now(), **changes)

    # -- protocol -----------------------------------------------------------------
    def iter_contacts(self, since: datetime | None, until: datetime) -> Iterator[Contact]:
        self.calls["contacts"] += 1
        ordered = sorted(self.account.contacts.values(),
                         key=lambda c: (c.updated_at or datetime.min.replace(tzinfo=UTC), c.id))
        for contact in ordered:
            if since is None or (contact.updated_at and contact.updated_at >= since):
                yield replace(contact, activity_signature=self._signature(contact.id),
                              invited_at=self.account.invited_at.get(contact.id))

    def get_contacts_by_id(self, ids: Sequence[str]) -> list[Contact]:
        """The contacts of ``ids`` as they are now (unknown ids are left out)."""
        self.calls["contacts_by_id"] += 1
        return [replace(self.account.contacts[cid], activity_signature=self._signature(cid),
                        invited_at=self.account.invited_at.get(cid))
                for cid in dict.fromkeys(ids) if cid in self.account.contacts]

    def _signature(self, contact_id: str) -> str:
        return str(len(self.account.events.get(contact_id, ())))

    def fetch_events(self, contacts: Sequence[Contact],
                     since: datetime | None) -> Mapping[str, list[Event]]:
        self.calls["events"] += 1
        return {
            c.id: [e for e in self.account.events.get(c.id, ())
                   if since is None or e.occurred_at >= since]
            for c in contacts
        }

    def ensure_score_property(self, prop: ScoreProperty) -> None:
        self.calls["property"] += 1
        self.account.properties.setdefault(prop.name, prop)
        self.score_property = prop.name

    def write_scores(self, scores: Mapping[str, int]) -> WriteReport:
        report = WriteReport()
        items = list(scores.items())
        for start in range(0, len(items), self.batch_size):
            report.calls += 1
            self.calls["write"] += 1
            for contact_id, value in items[start:start + self.batch_size]:
                if contact_id not in self.account.contacts:
                    report.failed[contact_id] = "contact does not exist"
                    continue
                self._touch(contact_id, score_in_crm=int(value))
                report.written.append(contact_id)
        return report

    def get_owner(self, contact: Contact) -> Owner | None:
        self.calls["owner"] += 1
        return self.account.owners.get(contact.owner_id) if contact.owner_id else None

    def get_invited_at(self, contact: Contact) -> datetime | None:
        self.calls["marker_read"] += 1
        return self.account.invited_at.get(contact.id)

    def set_invited_at(self, contact: Contact, at: datetime) -> None:
        self.calls["marker_write"] += 1
        self._require(contact)
        self.account.invited_at[contact.id] = at
        self._touch(contact.id)

    def set_invited_at_many(self, marks: Sequence[tuple[Contact, datetime]]) -> WriteReport:
        report = WriteReport()
        for start in range(0, len(marks), self.batch_size):
            report.calls += 1
            self.calls["marker_write_batch"] += 1
            for contact, at in marks[start:start + self.batch_size]:
                if contact.id not in self.account.contacts:
                    report.failed[contact.id] = "contact does not exist"
                    continue
                self.account.invited_at[contact.id] = at
                self._touch(contact.id)
                report.written.append(contact.id)
        return report

    def create_task(self, contact: Contact, owner: Owner | None, subject: str, body: str) -> str:
        self.calls["task"] += 1
        task = MemoryTask(id=str(len(self.account.tasks) + 1), contact_id=contact.id,
                          owner_id=owner.id if owner else None, subject=subject, body=body)
        self.account.tasks.append(task)
        return task.id

    def add_tag(self, contact: Contact, tag: str) -> None:
        self.calls["tag"] += 1
        self._require(contact)
        self.account.tags.setdefault(contact.id, set()).add(tag)

    def start_automation(self, contact: Contact, automation_id: str) -> None:
        self.calls["automation"] += 1
        self._require(contact)
        self.account.automations.append((contact.id, automation_id))

    def unsubscribe(self, contact: Contact, list_id: str | None = None) -> None:
        self.calls["unsubscribe"] += 1
        self._require(contact)
        self.account.unsubscribed[contact.id] = list_id
        self._touch(contact.id)

    def retried(self) -> dict[str, int]:
        return {}  # no HTTP, nothing to retry

    def close(self) -> None:
        return None

    def _require(self, contact: Contact) -> None:
        if contact.id not in self.account.contacts:
            raise FixConfiguration("contact does not exist", crm=self.kind, client="memory",
                                   endpoint="contact", status=404)
