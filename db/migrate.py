"""Schema migrations: `handoff db upgrade`, and at `handoff serve` start-up.

Two replicas starting at once is safe: on PostgreSQL the upgrade runs under a transaction-scoped
advisory lock, so the second waits and then finds nothing to do. SQLite's BEGIN IMMEDIATE does the same.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from db.engine import Database

MIGRATIONS = Path(__file__).with_name("migrations")
_ADVISORY_LOCK_KEY = 0x48414E44  # "HAND"


def _config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


async def upgrade(database: Database) -> None:
    async with database.transaction() as conn:
        if database.is_postgresql:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        await conn.run_sync(lambda sync_conn: command.upgrade(_config(sync_conn), "head"))


async def current_revision(database: Database) -> str | None:
    async with database.transaction() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def is_current(database: Database) -> bool:
    return await current_revision(database) == head_revision()
