"""Outbox retry schedule: when a not-sent action is tried next, and when it was first tried.

A refused/4xx/timeout-before-DATA delivery stays "pending" with ``next_attempt_at`` set
(exponential back-off); ``first_attempt_at`` starts the retry window (``smtp.retry_for_hours``)
after which the entry becomes "failed".

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime))
        batch.add_column(sa.Column("first_attempt_at", UTCDateTime))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("first_attempt_at")
        batch.drop_column("next_attempt_at")
