"""reminders: when they count from, snooze, overdue

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

import db.tables


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders_from', db.tables.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('snoozed_until', db.tables.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('overdue_at', db.tables.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_column('overdue_at')
        batch_op.drop_column('snoozed_until')
        batch_op.drop_column('reminders_from')
