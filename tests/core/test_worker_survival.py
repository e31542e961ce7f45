"""The worker outlives a database that refuses it, and says so while it waits.

PostgreSQL really refuses here: the worker connects as a role whose connection limit is 0, which the
server answers with SQLSTATE 53300 ("too many connections for role"), the same way it refuses
everyone while it starts up or shuts down (57P03). Lifting the limit is the database coming back.
"""

import asyncio
import uuid

from sqlalchemy.engine import make_url

from core import jobs as job_kinds
from core.handoffs import Handoffs
from core.worker import JobKind, Worker
from db import outbox
from db.engine import Database
from db.errors import DatabaseUnavailable
from tests.factories import escalated
from tests.journeys.slack_bot import eventually


async def limited_role(admin: Database) -> str:
    role = f"handoff_limited_{uuid.uuid4().hex[:8]}"
    async with admin.transaction() as conn:
        await conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
        await conn.exec_driver_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        await conn.exec_driver_sql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return role


async def set_limit(admin: Database, role: str, limit: int) -> None:
    async with admin.transaction() as conn:
        await conn.exec_driver_sql(f"ALTER ROLE {role} CONNECTION LIMIT {limit}")


async def test_refused_connections_are_database_unavailable(pg_db):
    role = await limited_role(pg_db)
    refused = Database(make_url(pg_db.url).set(username=role).render_as_string(hide_password=False))
    try:
        try:
            async with refused.transaction():
                pass
        except DatabaseUnavailable as error:
            assert "too many connections" in str(error)
        else:
            raise AssertionError("the refused connection was not reported as DatabaseUnavailable")
    finally:
        await refused.dispose()
        await set_limit(pg_db, role, -1)


async def test_the_worker_waits_out_a_refusing_database_and_resumes(pg_db):
    await escalated(Handoffs(pg_db))  # queues card.sync, assess
    role = await limited_role(pg_db)
    ran: list[str] = []

    async def note(job):
        ran.append(job.kind)

    refused = Database(make_url(pg_db.url).set(username=role).render_as_string(hide_password=False))
    worker = Worker(refused, {job_kinds.CARD_SYNC: JobKind(note)}, poll_s=0.05, concurrency=2)
    worker.MAX_PAUSE_S = 0.2
    task = asyncio.create_task(worker.run())
    try:
        await eventually(lambda: worker.problem is not None)
        assert "DatabaseUnavailable" in worker.problem
        await asyncio.sleep(0.5)
        assert not task.done() and ran == []
        await set_limit(pg_db, role, -1)  # the database is back
        await eventually(lambda: ran == [job_kinds.CARD_SYNC])
        await eventually(lambda: worker.problem is None)

        async def done():
            async with pg_db.transaction() as conn:
                return [j["state"] for j in await outbox.list_jobs(conn, kind=job_kinds.CARD_SYNC)] == ["done"]
        await eventually(done)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await refused.dispose()
        await set_limit(pg_db, role, -1)
