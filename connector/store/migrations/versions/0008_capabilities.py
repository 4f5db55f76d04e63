"""Capabilities: what each client's CRM account was found able to do.

Detected on a client's first sync, on every full resync and by ``connector doctor``
(``connector/crm/detected.py``): the facts found (JSON), when, and what changed at the
last detection that changed something, so ``connector status`` can show both.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capabilities",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("found", sa.JSON, nullable=False),
        sa.Column("checked_at", UTCDateTime, nullable=False),
        sa.Column("changes", sa.JSON),
        sa.Column("changed_at", UTCDateTime),
    )


def downgrade() -> None:
    op.drop_table("capabilities")
