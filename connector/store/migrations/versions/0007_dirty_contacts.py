"""Dirty contacts: what a webhook said changed, waiting for a targeted sync.

A webhook (``connector serve``) marks a contact dirty; the debounced targeted sync rescores
the client's dirty contacts and clears the marks it took (only marks not newer than the
sync's start, so a webhook that arrives during the sync keeps its contact dirty). With
``webhooks.enabled`` the scheduled poll of an ActiveCampaign client reads this set instead
of every contact updated since the day before (docs: README "Webhooks").

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dirty_contacts",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("contact_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("first_marked_at", UTCDateTime, nullable=False),
        sa.Column("marked_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dirty_contacts")
