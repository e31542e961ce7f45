"""initial schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa

import db.tables


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('handoff_id', sa.Uuid(), nullable=True),
    sa.Column('payload', sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_attempts', sa.Integer(), server_default='8', nullable=False),
    sa.Column('run_after', db.tables.UTCDateTime(), nullable=False),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_until', db.tables.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=256), nullable=True),
    sa.Column('created_at', db.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', db.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_dedupe_key', ['dedupe_key'], unique=False)
        batch_op.create_index('ix_jobs_due', ['state', 'run_after'], unique=False)
        batch_op.create_index('uq_jobs_pending_dedupe', ['dedupe_key'], unique=True, postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))

    op.create_table('workspaces',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=256), server_default='', nullable=False),
    sa.Column('escalation_channel', sa.String(length=256), nullable=True),
    sa.Column('conversation_ref', sa.JSON(), nullable=True),
    sa.Column('settings', sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('created_at', db.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workspaces')),
    sa.UniqueConstraint('platform', 'external_id', name='uq_workspaces_platform_external')
    )
    op.create_table('people',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('display_name', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), server_default='engineer', nullable=False),
    sa.Column('created_at', db.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_people_workspace_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('workspace_id', 'external_id', name='uq_people_workspace_external')
    )
    op.create_table('handoffs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('workspace_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('intent', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('assessment', sa.JSON(), nullable=True),
    sa.Column('assessment_state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('claimed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('claimed_at', db.tables.UTCDateTime(), nullable=True),
    sa.Column('first_action_at', db.tables.UTCDateTime(), nullable=True),
    sa.Column('closed_at', db.tables.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('idempotency_key', sa.String(length=256), nullable=True),
    sa.Column('escalated_at', db.tables.UTCDateTime(), nullable=True),
    sa.Column('created_at', db.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', db.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['claimed_by'], ['people.id'], name=op.f('fk_handoffs_claimed_by')),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_handoffs_created_by')),
    sa.ForeignKeyConstraint(['target_id'], ['people.id'], name=op.f('fk_handoffs_target_id')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_handoffs_workspace_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs')),
    sa.UniqueConstraint('workspace_id', 'idempotency_key', name='uq_handoffs_workspace_idempotency')
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_queue', ['workspace_id', 'status', 'created_at'], unique=False)

    op.create_table('cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('handoff_id', sa.Uuid(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=256), nullable=False),
    sa.Column('message_ref', sa.String(length=256), nullable=True),
    sa.Column('conversation_ref', sa.String(length=512), nullable=True),
    sa.Column('service_url', sa.String(length=512), nullable=True),
    sa.Column('rendered_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', db.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], name=op.f('fk_cards_handoff_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('handoff_id', 'platform', name='uq_cards_handoff_platform')
    )
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('workspace_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('handoff_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('data', sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('dedupe_key', sa.String(length=256), nullable=True),
    sa.Column('created_at', db.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_events_actor_id')),
    sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], name=op.f('fk_events_handoff_id')),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_events_workspace_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_events_dedupe_key'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_handoff', ['handoff_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_handoff')

    op.drop_table('events')
    op.drop_table('cards')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_queue')

    op.drop_table('handoffs')
    op.drop_table('people')
    op.drop_table('workspaces')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_pending_dedupe', postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"))
        batch_op.drop_index('ix_jobs_due')
        batch_op.drop_index('ix_jobs_dedupe_key')

    op.drop_table('jobs')
