"""One budget across replicas: two independent Database instances (as two processes would hold) draw
post slots and model-call slots from the same PostgreSQL rows, and together keep the limit."""

import asyncio
import time

from core.budget import LocalPacer, Pace
from db.budget import PgCallSlots, PgPacer
from db.engine import Database

PACE = Pace(interval_s=0.1, burst=3)  # Slack's shape (a short burst, then a steady rate), ten times faster


async def post_all(pacer, key: str, n: int, sent: list[float]) -> None:
    """Post n messages as fast as the pacer lets this replica: wait exactly as long as it says."""
    for _ in range(n):
        while (wait := await pacer.take(key, PACE)) > 0:
            await asyncio.sleep(wait)
        sent.append(time.monotonic())


def most_in_window(times: list[float], window_s: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t - start < window_s) for i, start in enumerate(times))


async def test_two_replicas_together_keep_one_channels_rate(pg_db):
    replicas = [Database(pg_db.url, pool_size=2) for _ in range(2)]
    sent: list[float] = []
    try:
        started = time.monotonic()
        await asyncio.gather(*(post_all(PgPacer(db), "slack:T1:C1", 10, sent) for db in replicas))
        elapsed = time.monotonic() - started
    finally:
        for db in replicas:
            await db.dispose()
    assert len(sent) == 20
    # GCRA: at most burst + t / interval slots in any window of t seconds, whoever takes them. Each time here is
    # read after its slot's transaction returns, a moment that wanders on a loaded machine: two posts of slack
    # (two replicas each counting alone put 14 in half a second: the test below).
    assert most_in_window(sent, 0.5) <= 3 + 5 + 2
    assert most_in_window(sent, 1.0) <= 3 + 10 + 2
    assert elapsed >= (20 - 3) * 0.1 - 0.05  # the pair took as long as one channel's budget needs


async def test_each_replica_counting_alone_would_double_the_rate():
    """The failure the shared budget prevents: two in-process pacers let twice the posts through."""
    sent: list[float] = []
    await asyncio.gather(*(post_all(LocalPacer(), "slack:T1:C1", 10, sent) for _ in range(2)))
    assert most_in_window(sent, 0.5) > 3 + 5


async def test_a_429_pushes_the_channel_back_for_every_replica(pg_db):
    first, second = Database(pg_db.url, pool_size=2), Database(pg_db.url, pool_size=2)
    try:
        assert await PgPacer(first).take("slack:T1:C2", PACE) == 0
        await PgPacer(first).push_back("slack:T1:C2", PACE, 2.0)  # Slack said Retry-After: 2
        wait = await PgPacer(second).take("slack:T1:C2", PACE)
        assert 1.8 <= wait <= 2.05
        assert await PgPacer(second).take("slack:T1:OTHER", PACE) == 0  # other channels are not held back
    finally:
        await first.dispose()
        await second.dispose()


async def test_model_call_slots_are_shared_and_a_dead_holders_lease_runs_out(pg_db):
    first, second = Database(pg_db.url, pool_size=2), Database(pg_db.url, pool_size=2)
    try:
        a, b = PgCallSlots(first, limit=2), PgCallSlots(second, limit=2)
        held = [await a.acquire("a1", lease_s=0.5), await b.acquire("b1", lease_s=30)]
        assert sorted(held) == [0, 1]
        assert await b.acquire("b2", lease_s=30) is None  # both replicas together are at the bound
        await b.release(held[1], "b1")
        assert await a.acquire("a2", lease_s=30) == held[1]
        await asyncio.sleep(0.6)  # "a1" died holding its slot: the lease frees it
        assert await b.acquire("b3", lease_s=30) == held[0]
        await a.release(held[0], "a1")  # a late release by the dead holder frees nothing of b3's
        assert await a.acquire("a3", lease_s=30) is None
    finally:
        await first.dispose()
        await second.dispose()
