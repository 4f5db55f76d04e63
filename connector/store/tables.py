"""The state schema (SQLAlchemy Core). Every table is keyed by client: no query in the
store reads a row without naming its client. Migrations in ``migrations/`` create it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (naive storage) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", String(36), primary_key=True),
    Column("client", String(100), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("counts", JSON),
    Column("errors", JSON),
    Column("report", JSON),
)

bookmarks = Table(
    "bookmarks", metadata,
    Column("client", String(100), primary_key=True),
    Column("stream", String(50), primary_key=True),
    Column("value", UTCDateTime, nullable=False),
)

contacts = Table(
    "contacts", metadata,
    Column("client", String(100), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("email", Text),
    Column("score", Integer),
    Column("total", Integer),
    Column("tier", String(50)),
    Column("warm", Boolean, nullable=False, default=False),
    Column("at_floor", Boolean, nullable=False, default=False),
    Column("warm_episode", Integer, nullable=False, default=0),
    Column("next_change_at", UTCDateTime, index=True),
    Column("explanation_digest", String(32)),
    Column("explanation", JSON),
    Column("interests", JSON),
    Column("activity_signature", Text),
    Column("last_scored_at", UTCDateTime),
    Column("updated_at_crm", UTCDateTime),
    Column("owner_id", String(64)),
    Column("fields", JSON),
    # outcomes (migration 0002): ground truth for `connector evaluate`
    Column("created_at_crm", UTCDateTime),
    Column("is_customer", Boolean, nullable=False, default=False),
    Column("customer_at", UTCDateTime),
    # the model of the stored score (migration 0005; NULL: scored before it was recorded)
    Column("model_hash", String(64)),
    # our own last write (migration 0006): its echo costs no engagement call
    Column("written_score", Integer),
    Column("written_at", UTCDateTime),
    Column("written_fields_hash", String(64)),
)

models = Table(
    "models", metadata,
    Column("client", String(100), primary_key=True),
    Column("hash", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("source", Text),
    Column("rules_text", Text, nullable=False),
    Column("first_used_at", UTCDateTime, nullable=False),
)

events = Table(
    "events", metadata,
    Column("client", String(100), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("contact_id", String(64), nullable=False, index=True),
    Column("type", String(50), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("url", Text),
    Column("email_id", String(200)),
    Column("name", Text),
)

transitions = Table(
    "transitions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(100), nullable=False, index=True),
    Column("run_id", String(36)),
    Column("contact_id", String(64), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("score", Integer, nullable=False),
    Column("from_tier", String(50)),
    Column("to_tier", String(50), nullable=False),
    Column("warm_episode", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client", String(100), nullable=False),
    Column("contact_id", String(64), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("detail", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # retry schedule (migration 0003): a not-sent entry waits until next_attempt_at;
    # first_attempt_at starts its retry window (smtp.retry_for_hours)
    Column("next_attempt_at", UTCDateTime),
    Column("first_attempt_at", UTCDateTime),
    # why a "held" or "queued" entry waits, and when a person released it (migration 0005)
    Column("hold_reason", Text),
    Column("released_at", UTCDateTime),
    UniqueConstraint("client", "dedupe_key", name="uq_outbox_client_dedupe"),
)

failed_writes = Table(
    "failed_writes", metadata,
    Column("client", String(100), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

skipped = Table(
    "skipped", metadata,
    Column("client", String(100), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("run_id", String(36)),
    Column("at", UTCDateTime, nullable=False),
)

leases = Table(
    "leases", metadata,
    Column("client", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("until", UTCDateTime, nullable=False),
)

# contacts a webhook said changed, waiting for the targeted sync (migration 0007)
dirty_contacts = Table(
    "dirty_contacts", metadata,
    Column("client", String(100), primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("source", String(50), nullable=False),
    Column("first_marked_at", UTCDateTime, nullable=False),
    Column("marked_at", UTCDateTime, nullable=False),
)

# what each client's CRM account was found able to do (migration 0008)
capabilities = Table(
    "capabilities", metadata,
    Column("client", String(100), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("found", JSON, nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("changes", JSON),  # what the last detection that changed something changed
    Column("changed_at", UTCDateTime),
)

# the account-wide activity stream a run is reading, spooled here instead of held in memory
# (migration 0009, ``connector/store/spool.py``); each process's rows under its ``owner``,
# deleted when its adapter closes; ``type`` None: an id the stream only names (a visit)
activity_spool = Table(
    "activity_spool", metadata,
    Column("client", String(100), primary_key=True),
    Column("owner", String(120), primary_key=True),
    Column("stream", Integer, primary_key=True),
    Column("contact_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("event_id", String(200), nullable=False),
    Column("type", String(50)),
    Column("occurred_at", UTCDateTime),
    Column("url", Text),
    Column("email_id", String(200)),
    Column("name", Text),
    Column("properties", JSON),
)


def utcnow() -> datetime:
    return datetime.now(UTC)
