"""Slack OAuth: installations, bots and OAuth states, in the shapes slack-sdk's SQLAlchemy stores use

(slack_sdk.oauth.installation_store.sqlalchemy.SQLAlchemyInstallationStore.build_installations_table /
build_bots_table, slack_sdk.oauth.state_store.sqlalchemy.SQLAlchemyOAuthStateStore.build_oauth_states_table;
tests/db/test_slack_oauth_tables.py compares them column by column). Their DateTime columns are naive
UTC on purpose: the SDK strips the zone before it compares.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True)


def _app_and_enterprise() -> list[sa.Column]:
    return [
        sa.Column('client_id', sa.String(32), nullable=False),
        sa.Column('app_id', sa.String(32), nullable=False),
        sa.Column('enterprise_id', sa.String(32)),
        sa.Column('enterprise_name', sa.String(200)),
    ]


def _team_and_bot() -> list[sa.Column]:
    return [
        sa.Column('team_id', sa.String(32)),
        sa.Column('team_name', sa.String(200)),
        sa.Column('bot_token', sa.String(200)),
        sa.Column('bot_id', sa.String(32)),
        sa.Column('bot_user_id', sa.String(32)),
        sa.Column('bot_scopes', sa.String(1000)),
        sa.Column('bot_refresh_token', sa.String(200)),
        sa.Column('bot_token_expires_at', sa.DateTime()),
    ]


def upgrade() -> None:
    op.create_table(
        'slack_installations', _id(), *_app_and_enterprise(),
        sa.Column('enterprise_url', sa.String(200)),
        *_team_and_bot(),
        sa.Column('user_id', sa.String(32), nullable=False),
        sa.Column('user_token', sa.String(200)),
        sa.Column('user_scopes', sa.String(1000)),
        sa.Column('user_refresh_token', sa.String(200)),
        sa.Column('user_token_expires_at', sa.DateTime()),
        sa.Column('incoming_webhook_url', sa.String(200)),
        sa.Column('incoming_webhook_channel', sa.String(200)),
        sa.Column('incoming_webhook_channel_id', sa.String(200)),
        sa.Column('incoming_webhook_configuration_url', sa.String(200)),
        sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
        sa.Column('token_type', sa.String(32)),
        sa.Column('installed_at', sa.DateTime(), nullable=False),
    )
    op.create_index('slack_installations_idx', 'slack_installations',
                    ['client_id', 'enterprise_id', 'team_id', 'user_id', 'installed_at'])
    op.create_table(
        'slack_bots', _id(), *_app_and_enterprise(), *_team_and_bot(),
        sa.Column('is_enterprise_install', sa.Boolean(), nullable=False),
        sa.Column('installed_at', sa.DateTime(), nullable=False),
    )
    op.create_index('slack_bots_idx', 'slack_bots', ['client_id', 'enterprise_id', 'team_id', 'installed_at'])
    op.create_table(
        'slack_oauth_states', _id(),
        sa.Column('state', sa.String(200), nullable=False),
        sa.Column('expire_at', sa.DateTime(), nullable=False),
    )
    op.create_index('slack_oauth_states_state', 'slack_oauth_states', ['state'], unique=True)


def downgrade() -> None:
    op.drop_table('slack_oauth_states')
    op.drop_table('slack_bots')
    op.drop_table('slack_installations')
