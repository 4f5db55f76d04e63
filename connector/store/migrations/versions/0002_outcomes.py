"""Outcomes for evaluation: when the contact was created and became a customer.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("created_at_crm", UTCDateTime))
        batch.add_column(sa.Column("is_customer", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("customer_at", UTCDateTime))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("customer_at")
        batch.drop_column("is_customer")
        batch.drop_column("created_at_crm")
