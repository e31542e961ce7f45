"""people.email: the address the chat platform gives for a person, for mapping them to a PSA member

Filled lazily: the first time a pick-up is to be assigned in the PSA (HANDOFF_PSA_ASSIGN=true), the job
asks the platform (Slack users.info with users:read.email, Teams' conversation member) and keeps it.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('email', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.drop_column('email')
