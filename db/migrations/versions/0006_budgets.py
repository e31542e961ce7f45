"""Budgets shared by replicas: per-channel post slots and model-call slots (db/budget.py)

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'channel_slots',
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('tat', sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_channel_slots')),
    )
    op.create_table(
        'model_slots',
        sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('holder', sa.String(length=128), nullable=True),
        sa.Column('lease_until', sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint('slot', name=op.f('pk_model_slots')),
    )


def downgrade() -> None:
    op.drop_table('model_slots')
    op.drop_table('channel_slots')
