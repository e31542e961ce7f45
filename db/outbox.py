"""The job outbox: jobs commit with the state change that causes them; workers lease them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from db.tables import handoffs, jobs

log = logging.getLogger("handoff.outbox")

NOTIFY_CHANNEL = "handoff_jobs"
JOBS_ENQUEUED = "handoff.jobs_enqueued"  # flag on the connection for the current transaction


_INSERT_JOBS = {
    name: dialect(jobs)
    .on_conflict_do_nothing(index_elements=["dedupe_key"], index_where=text("state = 'pending'"))
    .returning(jobs.c.id)
    for name, dialect in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def job(
    kind: str,
    *,
    now: datetime,
    handoff_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 8,
) -> dict[str, Any]:
    """One job row, for enqueue_all."""
    return {
        "kind": kind,
        "handoff_id": handoff_id,
        "payload": payload or {},
        "state": "pending",
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": run_after or now,
        "dedupe_key": dedupe_key,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """Add jobs to the caller's transaction in one statement. A job already pending under the same
    dedupe_key absorbs a new one. Returns how many were added."""
    if not rows:
        return 0
    added = len((await conn.execute(_INSERT_JOBS[conn.dialect.name], rows)).all())
    if added:
        mark_enqueued(conn)
    return added


def mark_enqueued(conn: AsyncConnection) -> None:
    """Jobs were added in this transaction: Database.transaction wakes workers after the commit,
    so a rolled-back job wakes nobody."""
    conn.info[JOBS_ENQUEUED] = True


async def enqueue(conn: AsyncConnection, **fields: Any) -> bool:
    """Add one job (see job() for the fields)."""
    return await enqueue_all(conn, [job(**fields)]) == 1


async def claim_next(
    conn: AsyncConnection, *, worker_id: str, now: datetime, lease_s: float, kinds: list[str] | None = None
) -> RowMapping | None:
    """Lease one due job: pending and due, or running with an expired lease (its worker died).

    A job waits while another job with the same dedupe_key is running, so effects on one
    handoff's card never overlap. PostgreSQL: FOR UPDATE SKIP LOCKED lets workers pass each other.
    """
    other = jobs.alias("other")
    busy_sibling = exists().where(
        other.c.dedupe_key == jobs.c.dedupe_key,
        other.c.id != jobs.c.id,
        other.c.state == "running",
    )
    due = or_(
        and_(jobs.c.state == "pending", jobs.c.run_after <= now),
        and_(jobs.c.state == "running", jobs.c.lease_until < now),
    )
    candidate = select(jobs.c.id).where(due, ~busy_sibling)
    if kinds:
        candidate = candidate.where(jobs.c.kind.in_(kinds))
    candidate = candidate.order_by(jobs.c.run_after, jobs.c.id).limit(1)
    if conn.dialect.name == "postgresql":
        candidate = candidate.with_for_update(skip_locked=True)
    stmt = (
        update(jobs)
        .where(jobs.c.id == candidate.scalar_subquery())
        .values(
            state="running",
            lease_owner=worker_id,
            lease_until=now + timedelta(seconds=lease_s),
            attempts=jobs.c.attempts + 1,
            updated_at=now,
        )
        .returning(*jobs.c)
    )
    return (await conn.execute(stmt)).mappings().first()


def _owned(job_id: int, worker_id: str):
    return and_(jobs.c.id == job_id, jobs.c.lease_owner == worker_id, jobs.c.state == "running")


async def extend_lease(
    conn: AsyncConnection, *, job_id: int, worker_id: str, now: datetime, lease_s: float
) -> bool:
    stmt = (
        update(jobs)
        .where(_owned(job_id, worker_id))
        .values(lease_until=now + timedelta(seconds=lease_s), updated_at=now)
    )
    return (await conn.execute(stmt)).rowcount == 1


async def complete(conn: AsyncConnection, *, job_id: int, worker_id: str, now: datetime) -> bool:
    stmt = (
        update(jobs)
        .where(_owned(job_id, worker_id))
        .values(state="done", lease_owner=None, lease_until=None, updated_at=now)
    )
    return (await conn.execute(stmt)).rowcount == 1


async def reschedule(
    conn: AsyncConnection,
    *,
    job_id: int,
    worker_id: str,
    now: datetime,
    run_after: datetime,
    error: str | None,
    refund_attempt: bool = False,
) -> bool:
    """Back to pending for a later try. If a sibling is already pending, this one folds into it."""
    values: dict[str, Any] = {
        "state": "pending",
        "lease_owner": None,
        "lease_until": None,
        "run_after": run_after,
        "last_error": error,
        "updated_at": now,
    }
    if refund_attempt:
        values["attempts"] = jobs.c.attempts - 1
    row = (await conn.execute(select(jobs.c.dedupe_key).where(jobs.c.id == job_id))).first()
    key = row.dedupe_key if row else None
    if key is not None and await _fold_into_sibling(conn, job_id, key, now=now, run_after=run_after,
                                                    error=error, waited=refund_attempt, worker_id=worker_id):
        return True
    try:
        async with conn.begin_nested():  # a sibling may turn pending between the look and this write
            return (await conn.execute(update(jobs).where(_owned(job_id, worker_id)).values(**values))).rowcount == 1
    except IntegrityError:
        return await _fold_into_sibling(conn, job_id, key, now=now, run_after=run_after, error=error,
                                        waited=refund_attempt, worker_id=worker_id)


async def _fold_into_sibling(
    conn: AsyncConnection, job_id: int, key: str, *, now: datetime, run_after: datetime, error: str | None,
    waited: bool, worker_id: str,
) -> bool:
    """A pending job with the same key will do the same work: end this one (done) and, after a wait
    (a 429's Retry-After, pacing), make the sibling wait too; after a failure it keeps its earlier time.
    False when there is no pending sibling."""
    pending = (
        await conn.execute(
            select(jobs.c.id).where(jobs.c.dedupe_key == key, jobs.c.state == "pending", jobs.c.id != job_id)
        )
    ).first()
    if pending is None:
        return False
    later = jobs.c.run_after < run_after if waited else jobs.c.run_after > run_after
    await conn.execute(update(jobs).where(jobs.c.id == pending.id, later).values(run_after=run_after, updated_at=now))
    done = {"state": "done", "lease_owner": None, "lease_until": None, "last_error": error, "updated_at": now}
    await conn.execute(update(jobs).where(_owned(job_id, worker_id)).values(**done))
    return True


async def fail(conn: AsyncConnection, *, job_id: int, worker_id: str, now: datetime, error: str) -> bool:
    stmt = (
        update(jobs)
        .where(_owned(job_id, worker_id))
        .values(state="failed", lease_owner=None, lease_until=None, last_error=error, updated_at=now)
    )
    return (await conn.execute(stmt)).rowcount == 1


async def get_job(conn: AsyncConnection, job_id: int) -> RowMapping | None:
    return (await conn.execute(select(jobs).where(jobs.c.id == job_id))).mappings().first()


async def list_jobs(conn: AsyncConnection, *, handoff_id: uuid.UUID | None = None, kind: str | None = None):
    stmt = select(jobs).order_by(jobs.c.id)
    if handoff_id is not None:
        stmt = stmt.where(jobs.c.handoff_id == handoff_id)
    if kind is not None:
        stmt = stmt.where(jobs.c.kind == kind)
    return (await conn.execute(stmt)).mappings().all()


async def next_due_in(conn: AsyncConnection, *, now: datetime, kinds: list[str] | None = None) -> float | None:
    """Seconds until the next pending job (of these kinds) is due (0 if one is due now), or None when idle."""
    stmt = select(jobs.c.run_after).where(jobs.c.state == "pending").order_by(jobs.c.run_after).limit(1)
    if kinds is not None:
        stmt = stmt.where(jobs.c.kind.in_(kinds))
    run_after = (await conn.execute(stmt)).scalar_one_or_none()
    if run_after is None:
        return None
    return max(0.0, (run_after - now).total_seconds())


class Listener:
    """LISTEN for new-job notifications on a dedicated PostgreSQL connection."""

    def __init__(self, database, on_notify) -> None:
        self.database = database
        self.on_notify = on_notify
        self._conn = None
        self._raw = None

    async def __aenter__(self) -> Listener:
        self._conn = await self.database.engine.connect()
        raw = await self._conn.get_raw_connection()
        self._raw = raw.driver_connection
        await self._raw.add_listener(NOTIFY_CHANNEL, self._callback)
        return self

    def _callback(self, *_args) -> None:
        self.on_notify()

    async def __aexit__(self, *_exc) -> None:
        try:
            if self._raw is not None and not self._raw.is_closed():
                await self._raw.remove_listener(NOTIFY_CHANNEL, self._callback)
        finally:
            if self._conn is not None:
                await self._conn.close()


async def count_running(conn: AsyncConnection, *, kinds: list[str] | None = None) -> int:
    stmt = select(func.count()).select_from(jobs).where(jobs.c.state == "running")
    if kinds is not None:
        stmt = stmt.where(jobs.c.kind.in_(kinds))
    return (await conn.execute(stmt)).scalar_one()


async def is_idle(conn: AsyncConnection, *, now: datetime, timers: frozenset[str] = frozenset()) -> bool:
    """No job pending or running: everything committed so far has been delivered (or has failed).
    Jobs of the `timers` kinds count only once they are due (a reminder an hour away is not work)."""
    pending = select(func.count()).select_from(jobs).where(
        or_(jobs.c.state == "running", and_(jobs.c.state == "pending", or_(jobs.c.run_after <= now, jobs.c.kind.not_in(timers))))
    )
    return (await conn.execute(pending)).scalar_one() == 0


class NotifySender:
    """Tells workers in other processes that jobs were committed: at most one NOTIFY per `gap_s`.

    A NOTIFY inside each writing transaction would serialise every commit on PostgreSQL's global
    notify lock, and one per commit costs a transaction each; sent after the commit and coalesced,
    it wakes idle workers elsewhere within `gap_s`. Workers in this process are woken directly,
    busy workers don't need it, and polling covers a NOTIFY that never arrives.
    """

    def __init__(self, engine, *, gap_s: float = 0.05) -> None:
        self.engine = engine
        self.gap_s = gap_s
        self._task: asyncio.Task | None = None
        self._again = False

    def __call__(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while True:
            self._again = False
            try:
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
                    await conn.commit()
            except Exception as error:  # noqa: BLE001 - polling picks the jobs up anyway
                log.debug("NOTIFY failed: %s", error)
            await asyncio.sleep(self.gap_s)
            if not self._again:
                return


async def stop_pending_for_workspace(conn: AsyncConnection, *, workspace_id: int, reason: str, now: datetime) -> int:
    """The workspace is gone (app uninstalled, tokens revoked): its pending jobs fail with `reason`
    instead of retrying against a token that no longer exists. Returns how many were stopped."""
    stmt = (
        update(jobs)
        .where(jobs.c.state == "pending",
               jobs.c.handoff_id.in_(select(handoffs.c.id).where(handoffs.c.workspace_id == workspace_id)))
        .values(state="failed", last_error=reason, updated_at=now)
    )
    return (await conn.execute(stmt)).rowcount
