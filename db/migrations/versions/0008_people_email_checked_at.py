"""people.email_checked_at: when the chat platform last gave (or confirmed) a person's stored email

A stored email older than a day is asked for again before a PSA assignment, and one that no PSA member has is
asked for again at once (psa/assign.py): an address changed in Slack or Teams is picked up. Rows stored before
this column have NULL: asked again at their next assignment.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

import db.tables

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('email_checked_at', db.tables.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.drop_column('email_checked_at')
