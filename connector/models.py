"""Plain typed data shared by every layer: contacts, events, scores, transitions.

Everything here is CRM-neutral. Adapters map their CRM's shapes into these types;
the rules engine only ever sees these types. Datetimes are always timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple


class EventType(StrEnum):
    """The common behaviour vocabulary. Rules may also name any custom type string."""

    PAGE_VIEW = "page_view"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    FORM_SUBMISSION = "form_submission"
    DOWNLOAD = "download"


# Fit fields every adapter fills under these common names (values may be None).
FIT_FIELDS: tuple[str, ...] = (
    "email",
    "first_name",
    "last_name",
    "job_title",
    "company",
    "company_size",
    "industry",
    "country",
    "lifecycle_stage",
)
# A CRM's contact tags (ActiveCampaign's) become this list field.
TAGS_FIELD = "tags"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a contact did.

    ``id`` is unique per CRM (used to deduplicate events seen twice), ``type`` is an
    :class:`EventType` value or any custom string, ``url`` is set for page views and
    clicks, ``email_id`` identifies the marketing email for opens and clicks, ``name``
    names the form, asset or custom event (e.g. the guide that was downloaded).
    """

    id: str
    contact_id: str
    type: str
    occurred_at: datetime
    url: str | None = None
    email_id: str | None = None
    name: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Owner:
    """The salesperson a contact belongs to (the invite is sent in their name)."""

    id: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact as pulled from a CRM.

    ``fields`` holds the fit data under the common names of :data:`FIT_FIELDS` plus any
    extra CRM properties the client's field map asks for (custom fields, tags as
    ``tags``). ``score_in_crm`` is the current value of the connector's score property
    (None when unset), so the sync can tell its own writes from real changes.
    ``activity_signature`` summarises the CRM's engagement counters; when it is unchanged
    since the last sync the contact's events need not be fetched again.
    ``invited_at`` is the CRM's warm-up marker (``connector_invited_at``): when the
    connector last acted on a warm-up of this contact, kept in the CRM so a lost state
    database never invites twice.
    """

    id: str
    email: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    owner_id: str | None = None
    updated_at: datetime | None = None
    created_at: datetime | None = None
    score_in_crm: int | None = None
    activity_signature: str | None = None
    is_customer: bool = False
    customer_at: datetime | None = None
    invited_at: datetime | None = None


class RuleHit(NamedTuple):
    """One rule that fired: its points and the evidence (event ids or a field value).

    A named tuple rather than a frozen dataclass: a score builds several per contact and
    tuples are built several times faster, immutable all the same."""

    rule_id: str
    description: str
    points: int
    topic: str | None = None
    evidence: tuple[str, ...] = ()


class ScoreResult(NamedTuple):
    """What the engine says of one contact at one moment (a named tuple, like
    :class:`RuleHit`, because the engine builds one per contact scored).

    ``raw_total`` is the sum of the explanation's points (before clamping to the model's
    range); ``total`` is clamped. ``next_change_at`` is the earliest moment at which the
    score changes by time alone (a decay step, a point expiring, a window ending), or
    None when time alone never changes it.
    """

    contact_id: str
    total: int
    raw_total: int
    tier: str
    warm: bool
    at_floor: bool
    interests: Mapping[str, int]
    explanation: tuple[RuleHit, ...]
    next_change_at: datetime | None
    scored_at: datetime


class TransitionKind(StrEnum):
    BECAME_WARM = "became_warm"
    LEFT_WARM = "left_warm"
    TIER_CHANGED = "tier_changed"
    HIT_FLOOR = "hit_floor"


@dataclass(frozen=True, slots=True)
class ContactState:
    """What the connector remembers of a contact between syncs (input to transitions)."""

    score: int
    tier: str
    warm: bool
    at_floor: bool
    warm_episode: int = 0


@dataclass(frozen=True, slots=True)
class Transition:
    """A change worth acting on. ``warm_episode`` numbers the contact's warm-ups (1, 2, …);
    the invite for a warm-up is keyed by (client, contact, warm_episode)."""

    kind: TransitionKind
    contact_id: str
    score: int
    from_tier: str | None
    to_tier: str
    warm_episode: int


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
