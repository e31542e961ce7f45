"""people.chat_id: the id a platform addresses a person by in messages, when it is not their key

Teams people are keyed by their Entra object id (what the dialog's people picker submits and what
every activity carries as aadObjectId); mentions and card refresh lists need their `29:…` id.

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('chat_id', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.drop_column('chat_id')
