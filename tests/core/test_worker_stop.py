"""Stopping a worker (SIGTERM): no new jobs, jobs in flight finish, or give their leases back."""

import asyncio
from datetime import timedelta

from core.worker import JobKind, Worker
from db import outbox
from db.tables import utcnow


async def enqueue(db, kind, n=1):
    async with db.transaction() as conn:
        for _ in range(n):
            await outbox.enqueue(conn, kind=kind, now=utcnow())


async def jobs(db):
    async with db.transaction() as conn:
        return await outbox.list_jobs(conn)


async def test_a_stopped_worker_finishes_its_job_and_takes_no_other(db):
    started, release, ran = asyncio.Event(), asyncio.Event(), []

    async def slow(job):
        started.set()
        await release.wait()
        ran.append(job.id)

    await enqueue(db, "slow", n=3)
    worker = Worker(db, {"slow": JobKind(slow)}, concurrency=1, poll_s=0.05)
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(worker.shutdown(task, timeout_s=5))
    await asyncio.sleep(0.2)
    release.set()
    await asyncio.wait_for(stopping, 6)
    states = sorted(j["state"] for j in await jobs(db))
    assert len(ran) == 1 and states == ["done", "pending", "pending"]


async def test_a_job_still_running_at_the_deadline_gives_its_lease_back(db):
    started = asyncio.Event()

    async def hangs(job):
        started.set()
        await asyncio.sleep(3600)

    await enqueue(db, "hangs")
    worker = Worker(db, {"hangs": JobKind(hangs)}, concurrency=1, lease_s=600, poll_s=0.05)
    task = asyncio.create_task(worker.run())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(worker.shutdown(task, timeout_s=0.2), 5)
    [job] = await jobs(db)
    # Back at once, not after the 600 s lease, and the interrupted try is not counted against it.
    assert job["state"] == "pending" and job["lease_owner"] is None and job["attempts"] == 0
    assert "stopped" in job["last_error"]
    again = []
    other = Worker(db, {"hangs": JobKind(lambda j: _done(again, j))})
    assert await other.drain(timeout_s=5) == 1 and again == [job["id"]]


async def _done(into, job):
    into.append(job.id)


async def test_a_killed_workers_lease_runs_out_and_another_worker_takes_the_job(db):
    await enqueue(db, "note")
    leased_at = utcnow()
    async with db.transaction() as conn:  # leased by a process that is then killed: no code runs
        assert await outbox.claim_next(conn, worker_id="killed", now=leased_at, lease_s=0.3) is not None
    ran, now = [], [leased_at]
    # The survivor's clock is moved by hand: "still leased" cannot turn into "expired" on a slow machine.
    survivor = Worker(db, {"note": JobKind(lambda j: _done(ran, j))}, clock=lambda: now[0])
    assert await survivor.run_one() is False
    now[0] = leased_at + timedelta(seconds=0.4)  # the lease has run out
    assert await survivor.drain(timeout_s=5) == 1 and len(ran) == 1


async def test_the_heartbeat_keeps_a_short_lease_while_the_job_runs(db):
    started, ran = asyncio.Event(), []

    async def longer_than_the_lease(job):
        started.set()
        await asyncio.sleep(2.5)
        ran.append(job.id)

    # A beat every lease/3: a beat may come up to 2/3 of the lease late (a loaded machine) before it lapses.
    await enqueue(db, "long")
    owner = Worker(db, {"long": JobKind(longer_than_the_lease)}, lease_s=1.0, worker_id="owner")
    other = Worker(db, {"long": JobKind(longer_than_the_lease)}, lease_s=1.0, worker_id="other")
    running = asyncio.create_task(owner.run_one())
    await asyncio.wait_for(started.wait(), 5)
    taken = []
    while not running.done():
        taken.append(await other.run_one())
        await asyncio.sleep(0.1)
    assert await running is True and ran and not any(taken)
