"""Which model produced each score, and why an action waits.

``models`` keeps every rules model a client's syncs have used, keyed by a hash of its
YAML text, with the text itself: a later sync rebuilds the previous model to tell a
transition caused by a model change (held for a person) from one caused by new behaviour.
``contacts.model_hash`` names the model of the contact's stored score (NULL: scored before
this migration, by a model nobody recorded). ``outbox.hold_reason`` says why an entry is
"held" (a model change, the run guard) or "queued" (a salesperson's daily invite cap);
``outbox.released_at`` marks an entry a person released (the guard never holds it again).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from connector.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("client", sa.String(100), primary_key=True),
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("rules_text", sa.Text, nullable=False),
        sa.Column("first_used_at", UTCDateTime, nullable=False),
    )
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("model_hash", sa.String(64)))
    # "contacts another model scored" is two range scans of this index (hash < h, hash > h)
    op.create_index("ix_contacts_client_model_hash", "contacts", ["client", "model_hash"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("hold_reason", sa.Text))
        batch.add_column(sa.Column("released_at", UTCDateTime))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("released_at")
        batch.drop_column("hold_reason")
    op.drop_index("ix_contacts_client_model_hash", "contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("model_hash")
    op.drop_table("models")
