"""The job outbox and worker on real databases: transactions, leases, retries, exclusivity."""

import asyncio
import time

import pytest

from core.errors import RetryLater
from core.handoffs import Handoffs
from core.worker import JobKind, Worker, backoff_delay
from db import outbox
from db.engine import Database
from db.tables import utcnow
from tests.factories import ACME, DANA, escalated
from tests.fakes.port import RecordingPort, services_with


async def enqueue(db, kind, n=1, **kw):
    async with db.transaction() as conn:
        for _ in range(n):
            await outbox.enqueue(conn, kind=kind, now=utcnow(), **kw)


async def all_jobs(db, kind=None):
    async with db.transaction() as conn:
        return await outbox.list_jobs(conn, kind=kind)


async def test_job_in_a_rolled_back_transaction_never_runs(db):
    ran = []
    worker = Worker(db, {"note": JobKind(lambda job: _append(ran, job))})
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await outbox.enqueue(conn, kind="note", now=utcnow())
            raise RuntimeError("the state change failed")
    assert await worker.drain(timeout_s=2) == 0
    assert ran == [] and await all_jobs(db) == []


async def _append(into, job):
    into.append(job.id)


async def test_dead_workers_job_is_finished_by_another_and_applied_once(db):
    port = RecordingPort()
    handoffs = Handoffs(db)
    services = services_with(db, port, handoffs=handoffs)
    h = await escalated(handoffs)
    port.hang_post.set()  # the first worker posts, then dies before recording it
    doomed = Worker(db, services.job_kinds(), lease_s=0.5, worker_id="doomed")
    task = asyncio.create_task(doomed.run_one())
    deadline = time.monotonic() + 30
    while not port.posts:  # the post is made (its answer hangs): only then does the worker die
        assert time.monotonic() < deadline, "the doomed worker never posted"
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    port.hang_post.clear()
    # Meanwhile someone picks it up: the card found on replay shows older state and must be edited.
    await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)

    # Only card jobs, so no later assessment edit can paper over a stale card.
    card_jobs = {kind: job for kind, job in services.job_kinds().items() if kind == "card.sync"}
    survivor = Worker(db, card_jobs, lease_s=5, worker_id="survivor")
    await asyncio.sleep(0.6)  # the dead worker's lease runs out
    await survivor.drain(timeout_s=10)
    state = await handoffs.get(workspace=ACME, handoff_id=h.id)
    assert port.posts == 1, "the replayed job posted a second card"
    assert state.card.state == "posted" and state.card.message_ref == f"ts-{h.id}"
    assert port.messages[state.card.message_ref]["status"] == "claimed"
    assert state.card.rendered_version == state.version
    syncs = await all_jobs(db, "card.sync")
    # The cancelled worker gave its lease back (test_worker_stop.py); whichever job carried the
    # replay, every card job is done and the card was posted once.
    assert {j["state"] for j in syncs} == {"done"}


async def test_two_postgresql_workers_never_run_the_same_job(pg_database_url, pg_db):
    running: set[int] = set()
    ran: list[int] = []
    overlaps: list[int] = []
    per_key_running: dict[str, int] = {}

    async def handle(job):
        if job.id in running:
            overlaps.append(job.id)
        key = job.payload["key"]
        if per_key_running.get(key):
            overlaps.append(-job.id)
        running.add(job.id)
        per_key_running[key] = 1
        await asyncio.sleep(0.005)
        running.discard(job.id)
        per_key_running[key] = 0
        ran.append(job.id)

    async with pg_db.transaction() as conn:
        for i in range(200):
            await outbox.enqueue(conn, kind="work", now=utcnow(), payload={"key": f"k{i % 20}"})
    databases = [Database(pg_database_url) for _ in range(2)]
    workers = [Worker(d, {"work": JobKind(handle)}, concurrency=4, poll_s=0.05, worker_id=f"w{i}") for i, d in enumerate(databases)]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        deadline = time.monotonic() + 60  # about 2 s unloaded
        while time.monotonic() < deadline:
            if {j["state"] for j in await all_jobs(pg_db)} == {"done"}:
                break
            await asyncio.sleep(0.05)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for d in databases:
            await d.dispose()
    assert sorted(ran) == sorted(set(ran)) and len(ran) == 200
    assert overlaps == []
    owners = {j["lease_owner"] for j in await all_jobs(pg_db)}
    assert owners == {None}


async def test_jobs_sharing_a_key_never_overlap_and_fold_while_pending(pg_db):
    async with pg_db.transaction() as conn:
        assert await outbox.enqueue(conn, kind="sync", now=utcnow(), dedupe_key="card:1")
        assert not await outbox.enqueue(conn, kind="sync", now=utcnow(), dedupe_key="card:1")
    async with pg_db.transaction() as conn:
        first = await outbox.claim_next(conn, worker_id="a", now=utcnow(), lease_s=30)
    async with pg_db.transaction() as conn:
        # Running: a new change may queue one more behind it, but it waits for the running one.
        assert await outbox.enqueue(conn, kind="sync", now=utcnow(), dedupe_key="card:1")
        assert await outbox.claim_next(conn, worker_id="b", now=utcnow(), lease_s=30) is None
        await outbox.complete(conn, job_id=first["id"], worker_id="a", now=utcnow())
    async with pg_db.transaction() as conn:
        second = await outbox.claim_next(conn, worker_id="b", now=utcnow(), lease_s=30)
    assert second is not None and second["id"] != first["id"]


async def test_retries_back_off_then_fail_with_error_and_event(db):
    """The delays the worker chose are read from what it stored, against its own (injected) clock: exact on
    a loaded machine, where wall-clock gaps between attempts are mostly the event loop's own lateness."""
    handoffs = Handoffs(db)
    h = await escalated(handoffs)
    reads: list = []  # every time the worker read its clock
    due: list = []  # each attempt's run_after, as stored
    failed_at: list[int] = []  # the worker's first clock read after each failure: the retry's "now"
    failed: list[str] = []

    def clock():
        reads.append(utcnow())
        return reads[-1]

    async def flaky(job):
        [row] = await all_jobs(db, "flaky")
        due.append(row["run_after"])
        failed_at.append(len(reads))  # nothing awaits between the raise and the worker's next read
        raise ConnectionError("upstream 503")

    async def on_failed(job, error):
        failed.append(error)

    await enqueue(db, "flaky", handoff_id=h.id, max_attempts=4)
    worker = Worker(db, {"flaky": JobKind(flaky, on_failed)}, backoff_base_s=0.1, backoff_cap_s=10, clock=clock)
    await worker.drain(timeout_s=10)
    assert len(due) == 4
    chosen = [(due[n] - reads[failed_at[n - 1]]).total_seconds() for n in (1, 2, 3)]
    for n, delay in enumerate(chosen, start=1):  # base * 2^(n-1), times the jitter's 0.75-1
        assert 0.075 * 2 ** (n - 1) - 1e-3 <= delay <= 0.1 * 2 ** (n - 1) + 1e-3, chosen
    [job] = await all_jobs(db, "flaky")
    assert job["state"] == "failed" and job["attempts"] == 4
    assert "ConnectionError: upstream 503" in job["last_error"]
    assert failed == [job["last_error"]]
    [event] = [e for e in await handoffs.events(h.id) if e["kind"] == "job_failed"]
    assert event["data"]["job"] == "flaky" and event["data"]["attempts"] == 4


async def test_retry_later_honours_the_given_delay(db):
    seen: list[float] = []

    async def limited(job):
        seen.append(time.monotonic())
        if len(seen) == 1:
            raise RetryLater("429", delay_s=0.4)

    await enqueue(db, "limited")
    await Worker(db, {"limited": JobKind(limited)}, backoff_base_s=0.01).drain(timeout_s=5)
    assert len(seen) == 2 and seen[1] - seen[0] >= 0.38


def test_backoff_is_exponential_and_capped():
    assert 0.75 <= backoff_delay(1, base_s=1, cap_s=60) <= 1
    assert 6 <= backoff_delay(4, base_s=1, cap_s=60) <= 8
    assert backoff_delay(30, base_s=1, cap_s=60) <= 60
