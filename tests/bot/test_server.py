"""The process: health, readiness, and start-up migrations."""

import asyncio

import aiohttp

from bot.config import Settings
from bot.server import SERVICES, create_app
from bot.slack.installations import OAUTH_TABLES
from db import migrate
from db.engine import Database
from db.tables import metadata
from tests.servers import serve


async def test_healthz_and_readyz_on_a_fresh_database(tmp_path):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    async with serve(create_app(settings)) as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "ok"
        async with http.get(f"{url}/readyz") as resp:
            body = await resp.json()
            assert resp.status == 200, body
            assert body == {"status": "ready", "schema": migrate.head_revision()}


async def test_readyz_says_what_is_wrong_when_the_database_is_down(tmp_path):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    app = create_app(settings, run_worker=False)
    async with serve(app) as url, aiohttp.ClientSession() as http:
        services = app[SERVICES]
        await services.database.dispose()
        services.database = Database("postgresql+asyncpg://postgres@127.0.0.1:1/none")
        async with http.get(f"{url}/readyz") as resp:
            body = await resp.json()
            assert resp.status == 503
            assert "database unreachable" in body["reason"]
        async with http.get(f"{url}/healthz") as resp:
            assert resp.status == 200


async def test_two_replicas_upgrading_at_once_on_postgresql(pg_database_url):
    # Empty the schema so both replicas really race over the first migration.
    admin = Database(pg_database_url)
    async with admin.transaction() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        names = ", ".join([*(t.name for t in metadata.sorted_tables), *OAUTH_TABLES])
        await conn.exec_driver_sql(f"DROP TABLE IF EXISTS {names} CASCADE")
    await admin.dispose()
    replicas = [Database(pg_database_url) for _ in range(2)]
    await asyncio.gather(*(migrate.upgrade(r) for r in replicas))
    for r in replicas:
        assert await migrate.is_current(r)
        await r.dispose()


async def test_healthz_and_readyz_say_so_when_the_job_worker_has_stopped(tmp_path):
    from bot.server import WORKER_TASK
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    app = create_app(settings)
    async with serve(app) as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/healthz") as resp:
            assert resp.status == 200
        app[WORKER_TASK].cancel()  # the worker is gone while the process still answers HTTP
        await asyncio.gather(app[WORKER_TASK], return_exceptions=True)
        for path in ("/healthz", "/readyz"):
            async with http.get(f"{url}{path}") as resp:
                body = await resp.json()
                assert resp.status == 503 and "job worker stopped" in body["reason"], (path, body)
