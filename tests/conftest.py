"""Real databases for every test: a throwaway PostgreSQL database per test session, a file per test on SQLite.

PostgreSQL is required: when it cannot be reached the PostgreSQL tests fail, they never skip.
Set HANDOFF_TEST_PG_URL to point elsewhere (default: postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid

import asyncpg
import pytest

from bot.slack.installations import OAUTH_TABLES
from core.handoffs import Handoffs
from db import migrate
from db.engine import Database
from db.tables import metadata

# Tests never reach real Slack, Microsoft or Anthropic: drop any real credentials from the environment.
for _name in list(os.environ):
    if _name.startswith(("ANTHROPIC_", "SLACK_", "MICROSOFT_")):
        del os.environ[_name]

PG_SERVER = os.environ.get("HANDOFF_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def run_blocking(coro) -> object:
    """Run a coroutine to completion from sync code, even when an event loop is already running."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _pg_url(database: str) -> str:
    base, _, _ = PG_SERVER.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def pg_database_url():
    """Create a fresh database for this test session (so parallel runs never collide) and drop it after."""
    name = f"handoff_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_SERVER, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        run_blocking(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(f"PostgreSQL is required for the test suite and could not be reached at {PG_SERVER}: {error}")
    url = _pg_url(name).replace("postgresql://", "postgresql+asyncpg://", 1)

    async def upgrade() -> None:
        database = Database(url)
        await migrate.upgrade(database)
        await database.dispose()

    run_blocking(upgrade())
    yield url
    run_blocking(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """One migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"

    async def upgrade() -> None:
        database = Database(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(database)
        await database.dispose()

    run_blocking(upgrade())
    return path


async def _truncate(database: Database) -> None:
    names = ", ".join([*(t.name for t in reversed(metadata.sorted_tables)), *OAUTH_TABLES])
    async with database.transaction() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path):
    target = tmp_path / "handoff.db"
    target.write_bytes(sqlite_template.read_bytes())
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def pg_db(pg_database_url):
    database = Database(pg_database_url, pool_size=10)
    await _truncate(database)
    yield database
    await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request):
    """The service suite runs on both backends."""
    if request.param == "postgresql":
        database = Database(request.getfixturevalue("pg_database_url"), pool_size=10)
        await _truncate(database)
    else:
        database = Database(request.getfixturevalue("sqlite_url"))
    yield database
    await database.dispose()


@pytest.fixture
def handoffs(db) -> Handoffs:
    return Handoffs(db)
