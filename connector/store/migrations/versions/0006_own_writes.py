"""Our own writes: what the connector last wrote to each contact, and when.

ActiveCampaign has no engagement counters, and our score write moves the contact's
``udate``: without a record of the write, the next pull could not tell its own echo from
a change and would fetch the contact's engagement again. ``written_score`` is the value
written, ``written_at`` when the CRM confirmed it, ``written_fields_hash`` the hash of the
fields the score came from (score and marker fields excluded). NULL: nothing written since
this migration.

And two indexes the per-batch and per-run queries lacked (issue 17: a batch's store work
must not grow with the account): the events of a batch's contacts (``client`` and
``contact_id``; SQLite otherwise read every event of the client through the primary key,
for every batch), and the contacts due to change score (``client``, ``next_change_at``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("written_score", sa.Integer))
        batch.add_column(sa.Column("written_at", UTCDateTime))
        batch.add_column(sa.Column("written_fields_hash", sa.String(64)))
    op.create_index("ix_events_client_contact", "events",
                    ["client", "contact_id", "occurred_at"])
    op.create_index("ix_contacts_client_next_change", "contacts",
                    ["client", "next_change_at"])


def downgrade() -> None:
    op.drop_index("ix_contacts_client_next_change", "contacts")
    op.drop_index("ix_events_client_contact", "events")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("written_fields_hash")
        batch.drop_column("written_at")
        batch.drop_column("written_score")
