"""psa connections: one PSA per workspace, credentials encrypted; a footer notice on handoffs

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

import db.tables

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'psa_connections',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('workspace_id', _ID, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('settings', sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column('secrets', sa.Text(), nullable=False),
        sa.Column('updated_by', _ID, nullable=True),
        sa.Column('updated_at', db.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_psa_connections_workspace_id')),
        sa.ForeignKeyConstraint(['updated_by'], ['people.id'], name=op.f('fk_psa_connections_updated_by')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_psa_connections')),
        sa.UniqueConstraint('workspace_id', name=op.f('uq_psa_connections_workspace_id')),
    )


    with op.batch_alter_table('handoffs') as batch:
        batch.add_column(sa.Column('notice', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('handoffs') as batch:
        batch.drop_column('notice')
    op.drop_table('psa_connections')
