"""Migration 0005_slack_oauth creates exactly the tables slack-sdk's SQLAlchemy stores use, on both backends,
and the stores work on them (the OAuth journey itself is tests/journeys/test_slack_oauth.py)."""

import asyncio
import time

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

from bot.slack.installations import OAUTH_TABLES
from bot.slack.oauth import OneTimeStates


def sdk_tables() -> dict[str, sa.Table]:
    metadata = sa.MetaData()
    return {
        "slack_installations": AsyncSQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations"),
        "slack_bots": AsyncSQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots"),
        "slack_oauth_states": AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states"),
    }


def shape(column) -> tuple:
    kind = column["type"] if isinstance(column, dict) else column.type
    nullable = column["nullable"] if isinstance(column, dict) else column.nullable
    length = getattr(kind, "length", None)
    family = next(f for f in (sa.Boolean, sa.DateTime, sa.Integer, sa.String) if isinstance(kind, f))
    return family.__name__, length, bool(nullable)


async def test_migrated_tables_match_the_sdk_shapes(db):
    expected = sdk_tables()
    assert set(expected) == set(OAUTH_TABLES)

    def reflect(sync_conn):
        inspector = sa.inspect(sync_conn)
        return {name: {c["name"]: shape(c) for c in inspector.get_columns(name)} for name in OAUTH_TABLES}

    async with db.transaction() as conn:
        found = await conn.run_sync(reflect)
    for name, table in expected.items():
        want = {c.name: shape(c) for c in table.columns}
        want["id"] = ("Integer", None, False)
        assert found[name] == want, name


async def test_the_sdk_stores_work_on_our_tables(db):
    store = AsyncSQLAlchemyInstallationStore(client_id="1.2", engine=db.engine)
    await store.async_save(Installation(app_id="A1", team_id="T1", team_name="Acme", bot_token="xoxb-1",
                                        bot_id="B1", bot_user_id="U-BOT", user_id="U-ADMIN",
                                        bot_refresh_token="xoxe-1", bot_token_expires_in=43200))
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot.bot_token == "xoxb-1" and bot.bot_token_expires_at > time.time() + 43000
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is None
    await store.async_delete_all(enterprise_id=None, team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None

    states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=60, engine=db.engine)
    state = await states.async_issue()
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False  # once only
    expired = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=-1, engine=db.engine)
    assert await expired.async_consume(await expired.async_issue()) is False


async def test_a_state_is_consumed_once_even_by_racing_callbacks(pg_db):
    states = OneTimeStates(expiration_seconds=60, engine=pg_db.engine)
    state = await states.async_issue()
    results = await asyncio.gather(*(states.async_consume(state) for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    stale = OneTimeStates(expiration_seconds=-1, engine=pg_db.engine)
    old = await stale.async_issue()
    assert await states.async_consume(old) is False
    async with pg_db.transaction() as conn:
        assert (await conn.exec_driver_sql("SELECT COUNT(*) FROM slack_oauth_states")).scalar() == 0  # swept
