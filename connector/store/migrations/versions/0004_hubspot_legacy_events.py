"""Drop the engagement events the old HubSpot property-based reading made (before issue 14).

Without the events API, connector used to build a page view keyed by the last visit's time
alone ("hs-last-visit-<ms>") and a form keyed by its name alone ("hs-last-conversion-<name>"),
dated at ``lastmodifieddate``: ids shared by every contact of the portal (the first one kept
the row) and a date the connector's own score write moved. Those rows are wrong for every
contact that holds them; the new reading keys events per contact and dates them by the
contact's own dates. Run ``connector resync --full`` after the upgrade to rebuild them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM events WHERE event_id LIKE 'hs-last-visit-%' "
               "OR event_id LIKE 'hs-last-conversion-%'")


def downgrade() -> None:
    pass  # the rows were wrong; nothing to restore
