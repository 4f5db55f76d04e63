"""What the sync remembers between runs, and the store protocol (SQL implementation in
``sql.py``: SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from connector.models import Contact, Event, Transition


@dataclass(frozen=True, slots=True)
class StoredContact:
    """A contact's state. ``score`` is the value last WRITTEN to the CRM; ``total`` is the
    latest score (they differ while a write is pending or failed)."""

    client: str
    contact_id: str
    email: str | None
    score: int | None
    tier: str
    warm: bool
    at_floor: bool
    warm_episode: int
    next_change_at: datetime | None
    explanation_digest: str | None
    explanation: list[dict[str, Any]]
    interests: dict[str, int]
    activity_signature: str | None
    last_scored_at: datetime | None
    updated_at_crm: datetime | None
    owner_id: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    total: int | None = None
    created_at_crm: datetime | None = None
    is_customer: bool = False
    customer_at: datetime | None = None
    model_hash: str | None = None  # the model of ``total`` (None: not recorded)
    # our own last write (migration 0006): the value, when the CRM confirmed it, and the
    # hash of the fields it was scored from; a pull seeing only that write fetches nothing
    written_score: int | None = None
    written_at: datetime | None = None
    written_fields_hash: str | None = None

    def as_contact(self) -> Contact:
        """The contact as last pulled (fit data, owner, outcome) from state."""
        return Contact(id=self.contact_id, email=self.email, fields=self.fields or {},
                       owner_id=self.owner_id, updated_at=self.updated_at_crm,
                       created_at=self.created_at_crm, score_in_crm=self.score,
                       activity_signature=self.activity_signature,
                       is_customer=self.is_customer, customer_at=self.customer_at)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An action to deliver. ``dedupe_key`` is unique per client: the same warm-up can
    never be enqueued twice."""

    client: str
    contact_id: str
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    detail: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    next_attempt_at: datetime | None = None
    first_attempt_at: datetime | None = None
    hold_reason: str | None = None  # why a "held" / "queued" entry waits
    released_at: datetime | None = None  # a person released it from "held"


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A rules model a client's syncs used, with its YAML text (so it can be rebuilt)."""

    client: str
    hash: str
    name: str
    source: str | None
    rules_text: str
    first_used_at: datetime | None = None


class Transaction(Protocol):
    def save_contacts(self, rows: Sequence[StoredContact]) -> None: ...
    def add_events(self, client: str, events: Sequence[Event]) -> None: ...
    def add_transitions(self, client: str, run_id: str | None,
                        items: Sequence[Transition]) -> None: ...
    def enqueue(self, entry: OutboxEntry) -> bool: ...
    def set_bookmark(self, client: str, stream: str, value: datetime) -> None: ...
    def add_failed_writes(self, client: str, items: Mapping[str, tuple[int, str]]) -> None: ...
    def clear_failed_writes(self, client: str, ids: Sequence[str]) -> None: ...
    def record_skipped(self, client: str, contact_id: str, reason: str,
                       run_id: str | None) -> None: ...


class Store(Protocol):
    def lease(self, client: str, holder: str, ttl_seconds: int,
              now: datetime) -> AbstractContextManager[None]: ...
    def acquire_lease(self, client: str, holder: str, ttl_seconds: int,
                      now: datetime) -> None: ...
    def renew_lease(self, client: str, holder: str, ttl_seconds: int, now: datetime) -> bool: ...
    def take_over_lease(self, client: str, dead_holder: str, holder: str, ttl_seconds: int,
                        now: datetime) -> bool: ...
    def lease_holder(self, client: str) -> tuple[str, datetime] | None: ...
    def release_lease(self, client: str, holder: str) -> None: ...
    def start_run(self, client: str, kind: str, started_at: datetime) -> str: ...
    def interrupt_runs(self, client: str, now: datetime) -> int: ...
    def finish_run(self, run_id: str, status: str, finished_at: datetime,
                   counts: Mapping[str, int], errors: Sequence[str],
                   report: Mapping[str, Any]) -> None: ...
    def get_bookmark(self, client: str, stream: str) -> datetime | None: ...
    def set_bookmark(self, client: str, stream: str, value: datetime) -> None: ...
    def get_contacts(self, client: str, ids: Sequence[str]) -> dict[str, StoredContact]: ...
    def due_contacts(self, client: str, now: datetime) -> list[str]: ...
    def top_contacts(self, client: str, limit: int) -> list[StoredContact]: ...
    def already_warm(self, client: str, limit: int | None = None) -> list[StoredContact]: ...
    def iter_contacts(self, client: str, chunk: int = 2000,
                      ) -> Iterator[list[StoredContact]]: ...
    def get_events(self, client: str, ids: Sequence[str]) -> dict[str, list[Event]]: ...
    def transaction(self) -> AbstractContextManager[Transaction]: ...
    def claim_next(self, client: str, now: datetime,
                   after_id: int = 0) -> OutboxEntry | None: ...
    def mark_sent(self, entry_id: int, now: datetime, detail: str) -> None: ...
    def defer(self, entry_id: int, error: str, next_attempt_at: datetime,
              now: datetime) -> None: ...
    def mark_failed(self, entry_id: int, error: str, now: datetime) -> None: ...
    def mark_unknown(self, entry_id: int, error: str, now: datetime) -> None: ...
    def recover_interrupted(self, client: str, now: datetime) -> list[OutboxEntry]: ...
    def resolve_unknown(self, client: str, entry_id: int, sent: bool,
                        now: datetime) -> bool: ...
    def requeue_failed(self, client: str, entry_id: int, now: datetime) -> bool: ...
    def outbox(self, client: str, statuses: Sequence[str] | None = None) -> list[OutboxEntry]: ...
    def failed_writes(self, client: str) -> dict[str, tuple[int, str]]: ...
    def status(self) -> dict[str, Any]: ...
    # safe rule changes (issue 16): models, held and queued actions
    def save_model(self, model: StoredModel, now: datetime) -> None: ...
    def get_model(self, client: str, model_hash: str) -> StoredModel | None: ...
    def contacts_with_other_model(self, client: str, model_hash: str) -> list[str]: ...
    def iter_contacts_with_other_model(self, client: str, model_hash: str,
                                       chunk: int = 2000) -> Iterator[list[str]]: ...
    def set_outbox_status(self, client: str, ids: Sequence[int], status: str, *,
                          reason: str | None, next_attempt_at: datetime | None,
                          now: datetime) -> int: ...
    def release_held(self, client: str, entry_id: int, now: datetime) -> bool: ...
    def discard_held(self, client: str, entry_id: int, now: datetime) -> bool: ...
    def sent_since(self, client: str, kind: str, since: datetime) -> list[OutboxEntry]: ...
    def contact_count(self, client: str) -> int: ...
    # contacts a webhook said changed (connector.web), waiting for the targeted sync
    def mark_dirty(self, client: str, ids: Sequence[str], source: str,
                   now: datetime) -> None: ...
    def dirty_contacts(self, client: str) -> dict[str, datetime]: ...
    def dirty_clients(self) -> list[str]: ...
    def clear_dirty(self, client: str, ids: Sequence[str], until: datetime) -> None: ...
    # what the client's CRM account was found able to do (connector/crm/detected.py)
    def get_capabilities(self, client: str) -> dict[str, Any] | None: ...
    def save_capabilities(self, client: str, detected: Mapping[str, Any],
                          changes: Sequence[str]) -> None: ...


T = TypeVar("T")


def iter_chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
