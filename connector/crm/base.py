"""The CRM protocol every adapter implements, and the small types it speaks.

The sync only ever talks to a CRM through this protocol; ``sandbox/memory_crm.py`` is the
reference implementation and one contract suite (``tests/crm/test_crm_contract.py``) runs against
every adapter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from connector.models import Contact, Event, Owner


@dataclass(frozen=True, slots=True)
class ScoreProperty:
    """The contact property / custom field the score is written to."""

    name: str = "connector_lead_score"
    label: str = "Lead score (connector)"
    group: str = "connector"
    description: str = (
        "Lead score written by connector; sort contacts by it to call the best first."
    )


# The warm-up marker: a contact property / custom field holding the moment the connector
# planned the invite and notification it delivered for the contact's current warm-up. It
# lives in the CRM, so a lost or fresh state database never invites the same warm-up twice.
MARKER_NAME = "connector_invited_at"
MARKER_LABEL = "Invited at (connector)"
MARKER_DESCRIPTION = (
    "When connector planned the invite and note to sales for this lead's current warm-up. "
    "connector reads it before inviting, so a re-deploy never invites the same warm-up twice."
)


@dataclass(slots=True)
class WriteReport:
    """Outcome of one ``write_scores`` call. Every requested id ends up in exactly one of
    ``written`` or ``failed`` (id -> reason); nothing is dropped."""

    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    calls: int = 0


@dataclass(slots=True)
class PullNotes:
    """What an adapter wants the sync report to say: ``degraded`` lines (an API it could not
    use this run) and ``skipped`` records (id -> reason) it read around while pulling or
    fetching. The sync takes the skipped records after each batch (``take_skipped``)."""

    degraded: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def take_skipped(self) -> dict[str, str]:
        """The records skipped since the last call (id -> reason); the list starts over."""
        taken = dict(self.skipped)
        self.skipped.clear()
        return taken


# The actions a client's configuration can ask of its CRM. An adapter declares the ones it
# implements (``CRM.capabilities``); a client asking for one its CRM lacks is refused when
# its runtime is built, before any call (``registry.check_capabilities``).
TASK = "task"
TAG = "tag"
AUTOMATION = "automation"
UNSUBSCRIBE = "unsubscribe"
ALL_CAPABILITIES = frozenset({TASK, TAG, AUTOMATION, UNSUBSCRIBE})


@runtime_checkable
class ContactsById(Protocol):
    """An adapter that reads given contacts by id: what the targeted sync of a webhook's
    dirty contacts needs (``run_sync(job, contact_ids=...)``)."""

    def get_contacts_by_id(self, ids: Sequence[str]) -> list[Contact]:
        """The contacts of ``ids`` as they are now; ids the CRM no longer has are left
        out."""
        ...


@runtime_checkable
class CRM(Protocol):
    """A CRM account seen through the connector's eyes.

    Time arguments are aware UTC datetimes. Adapters do their own paging, batching,
    rate limiting and retries (through ``connector.http``); callers never loop.
    """

    kind: str
    notes: PullNotes
    # the actions this adapter implements (TASK, TAG, AUTOMATION, UNSUBSCRIBE)
    capabilities: frozenset[str]
    # True when ``iter_contacts(since, ...)`` yields contacts in ascending modification time,
    # so the sync may move its bookmark forward while the pull is still under way
    incremental_ordered: bool
    # contact id -> ids of engagement the account's activity stream shows since the last
    # pull, also for contacts whose record did not move (None: the CRM has no such stream)
    engaged: Mapping[str, set[str]] | None

    def iter_contacts(self, since: datetime | None, until: datetime) -> Iterator[Contact]:
        """Yield every contact changed at or after ``since`` (all contacts when None).

        The adapter applies its own overlap window below ``since`` (its CRM's clock and
        index lag) and yields each contact at most once per call. ``until`` is the sync's
        start time: the caller's next bookmark; adapters may stop at it.
        """
        ...

    def fetch_events(
        self, contacts: Sequence[Contact], since: datetime | None
    ) -> Mapping[str, list[Event]]:
        """Engagement of ``contacts`` that occurred at or after ``since`` (all when None),
        keyed by contact id; every requested id is a key. Events carry CRM-unique ids so the
        caller can merge them with what it already has."""
        ...

    def ensure_score_property(self, prop: ScoreProperty) -> None:
        """Create the score property / field if it does not exist (idempotent)."""
        ...

    def write_scores(self, scores: Mapping[str, int]) -> WriteReport:
        """Write ``{contact_id: score}`` in as few batch calls as the CRM allows."""
        ...

    def get_owner(self, contact: Contact) -> Owner | None:
        """The contact's owner (salesperson), or None when it has none."""
        ...

    def get_invited_at(self, contact: Contact) -> datetime | None:
        """The warm-up marker as the CRM has it now (``Contact.invited_at`` is the value at
        the pull); None when unset."""
        ...

    def set_invited_at(self, contact: Contact, at: datetime) -> None:
        """Write the warm-up marker (creating the property / field on first use)."""
        ...

    def set_invited_at_many(self, marks: Sequence[tuple[Contact, datetime]]) -> WriteReport:
        """Write several contacts' warm-up markers in as few batch calls as the CRM allows
        (the delivery's markers, ``actions.marker.Marks``); per contact as ``write_scores``."""
        ...

    def create_task(self, contact: Contact, owner: Owner | None, subject: str, body: str) -> str:
        """Create a task for the owner about the contact; returns the task id."""
        ...

    def add_tag(self, contact: Contact, tag: str) -> None:
        """Tag the contact (CRMs without tags raise FixConfiguration)."""
        ...

    def start_automation(self, contact: Contact, automation_id: str) -> None:
        """Start an automation for the contact (CRMs without them raise FixConfiguration)."""
        ...

    def unsubscribe(self, contact: Contact, list_id: str | None = None) -> None:
        """Unsubscribe the contact from marketing email (or from ``list_id``)."""
        ...

    def retried(self) -> dict[str, int]:
        """How many times each endpoint was retried (429, 5xx) since the adapter was built;
        the sync report lists them."""
        ...

    def close(self) -> None:
        """Release connections (idempotent; the next call reconnects)."""
        ...
