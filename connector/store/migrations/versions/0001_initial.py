"""The initial state schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client", sa.String(100), nullable=False, index=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("counts", sa.JSON),
        sa.Column("errors", sa.JSON),
        sa.Column("report", sa.JSON),
    )
    op.create_table(
        "bookmarks",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("stream", sa.String(50), primary_key=True),
        sa.Column("value", UTCDateTime, nullable=False),
    )
    op.create_table(
        "contacts",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("contact_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.Text),
        sa.Column("score", sa.Integer),
        sa.Column("total", sa.Integer),
        sa.Column("tier", sa.String(50)),
        sa.Column("warm", sa.Boolean, nullable=False),
        sa.Column("at_floor", sa.Boolean, nullable=False),
        sa.Column("warm_episode", sa.Integer, nullable=False),
        sa.Column("next_change_at", UTCDateTime, index=True),
        sa.Column("explanation_digest", sa.String(32)),
        sa.Column("explanation", sa.JSON),
        sa.Column("interests", sa.JSON),
        sa.Column("activity_signature", sa.Text),
        sa.Column("last_scored_at", UTCDateTime),
        sa.Column("updated_at_crm", UTCDateTime),
        sa.Column("owner_id", sa.String(64)),
        sa.Column("fields", sa.JSON),
    )
    op.create_table(
        "events",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("contact_id", sa.String(64), nullable=False, index=True),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("email_id", sa.String(200)),
        sa.Column("name", sa.Text),
    )
    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client", sa.String(100), nullable=False, index=True),
        sa.Column("run_id", sa.String(36)),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("from_tier", sa.String(50)),
        sa.Column("to_tier", sa.String(50), nullable=False),
        sa.Column("warm_episode", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("client", "dedupe_key", name="uq_outbox_client_dedupe"),
    )
    op.create_table(
        "failed_writes",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("contact_id", sa.String(64), primary_key=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "skipped",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("contact_id", sa.String(64), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(36)),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("until", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "skipped", "failed_writes", "outbox", "transitions", "events",
                  "contacts", "bookmarks", "runs"):
        op.drop_table(table)
