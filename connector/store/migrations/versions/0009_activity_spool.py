"""Activity spool: the account-wide activity stream a run is reading, kept in the state
store instead of the process's memory (issue 25 item 1).

ActiveCampaign's ``GET /activities`` lists every activity of the account; the adapter
hands it here a window of pages at a time and reads it back a batch of contacts at a time
(``connector/store/spool.py``), so a run's memory no longer grows with the account. Rows
live for one run: each process's rows are under its ``owner`` and deleted when its adapter
closes; those of a process that died are deleted by the next run on the same host.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_spool",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("owner", sa.String(120), primary_key=True),
        sa.Column("stream", sa.Integer, primary_key=True),
        sa.Column("contact_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(50)),
        sa.Column("occurred_at", UTCDateTime),
        sa.Column("url", sa.Text),
        sa.Column("email_id", sa.String(200)),
        sa.Column("name", sa.Text),
        sa.Column("properties", sa.JSON),
    )


def downgrade() -> None:
    op.drop_table("activity_spool")
