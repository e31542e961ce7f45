"""A job told to wait (a 429's Retry-After) that folds into a pending sibling makes the sibling wait too."""

from datetime import timedelta

from db import outbox
from db.tables import utcnow


async def test_a_wait_folded_into_a_pending_sibling_delays_it(db):
    now = utcnow()
    async with db.transaction() as conn:
        await outbox.enqueue(conn, kind="card.sync", dedupe_key="card:x", now=now)
        leased = await outbox.claim_next(conn, worker_id="w", now=now, lease_s=30)
        await outbox.enqueue(conn, kind="card.sync", dedupe_key="card:x", now=now)  # a new change meanwhile
        await outbox.reschedule(conn, job_id=leased["id"], worker_id="w", now=now,
                                run_after=now + timedelta(seconds=5), error="429", refund_attempt=True)
        jobs = await outbox.list_jobs(conn)
    assert [j["state"] for j in jobs] == ["done", "pending"]
    assert jobs[1]["run_after"] == now + timedelta(seconds=5)


async def test_a_failure_folded_into_a_pending_sibling_keeps_its_earlier_time(db):
    now = utcnow()
    async with db.transaction() as conn:
        await outbox.enqueue(conn, kind="card.sync", dedupe_key="card:x", now=now)
        leased = await outbox.claim_next(conn, worker_id="w", now=now, lease_s=30)
        await outbox.enqueue(conn, kind="card.sync", dedupe_key="card:x", now=now)
        await outbox.reschedule(conn, job_id=leased["id"], worker_id="w", now=now,
                                run_after=now + timedelta(seconds=5), error="500")
        jobs = await outbox.list_jobs(conn)
    assert jobs[1]["run_after"] == now
