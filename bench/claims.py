"""Claims per second on PostgreSQL: Handoff's claim() vs the bare conditional UPDATE over raw asyncpg.

    python bench/claims.py [--pg postgresql://postgres@127.0.0.1:5432/test] [--claims 2000]

Creates a throwaway database and measures, at 1, 8 and 32 concurrent claimers:
- won/s: the winning path (every claim takes a fresh handoff), as shipped: one statement;
- before/s: the same winning claim as separate statements in a transaction (BEGIN, UPDATE, INSERT
  event, INSERT jobs, SELECT, COMMIT), as it was before the one-statement claim;
- conflict/s: every claim hits an already-claimed handoff;
- raw UPDATE/s: the same conditional UPDATE issued by raw asyncpg: the database's own ceiling here.

Each batch of fresh handoffs is followed by ANALYZE, as autovacuum keeps a running database's
statistics: on a fresh database the planner has none, and picks plans that scan every open handoff
(the queue index) and every card, for the claim and for the raw UPDATE alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.handoffs import Handoffs  # noqa: E402
from core.models import Lost, PersonKey, Won, WorkspaceKey  # noqa: E402
from core.snapshot import Snapshot  # noqa: E402
from db import migrate  # noqa: E402
from db.engine import Database  # noqa: E402

WS = WorkspaceKey("slack", "T-BENCH", "Bench")
AUTHOR = PersonKey("U-AUTHOR", "Author")
CONCURRENCY = (1, 8, 32)

RAW_CLAIM = """
UPDATE handoffs SET status='claimed', claimed_by=$3, claimed_at=now(), version=version+1, updated_at=now()
WHERE id=$1 AND workspace_id=$2 AND claimed_by IS NULL AND created_by <> $3 AND status='open'
  AND intent='escalate'
RETURNING version
"""


async def make_handoffs(handoffs: Handoffs, n: int) -> list[uuid.UUID]:
    snapshot = Snapshot(summary="bench")
    ids = []
    for start in range(0, n, 200):
        batch = await asyncio.gather(
            *[handoffs.escalate(workspace=WS, author=AUTHOR, snapshot=snapshot) for _ in range(min(200, n - start))]
        )
        ids.extend(o.handoff.id for o in batch)
    return ids


async def run_claimers(ids: list[uuid.UUID], concurrency: int, claim_one) -> float:
    queue = list(ids)

    async def claimer(i: int) -> None:
        while queue:
            await claim_one(queue.pop(), i)

    started = time.perf_counter()
    await asyncio.gather(*[claimer(i) for i in range(concurrency)])
    return len(ids) / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=os.environ.get("HANDOFF_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--claims", type=int, default=2000, help="claims per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is printed")
    args = parser.parse_args()

    name = f"handoff_bench_{os.getpid()}"
    admin = await asyncpg.connect(args.pg)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = args.pg.rsplit("/", 1)[0]
    raw_url, sa_url = f"{base}/{name}", f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    database = Database(sa_url, pool_size=max(CONCURRENCY))
    try:
        await migrate.upgrade(database)
        # Observers as bot/services.py configures them (the PSA's note kind): the claim carries their rows.
        handoffs = Handoffs(database, observers=("psa.note",))
        stepwise = Handoffs(database, observers=("psa.note",))
        stepwise.claim_in_one_statement = False
        await handoffs.register_workspace(WS, channel="C-BENCH")
        people = [PersonKey(f"U-{i:03d}", f"Senior {i}") for i in range(max(CONCURRENCY))]
        raw = await asyncpg.create_pool(raw_url, min_size=max(CONCURRENCY), max_size=max(CONCURRENCY))
        ws_id = await raw.fetchval("SELECT id FROM workspaces WHERE external_id=$1", WS.external_id)
        for p in people:  # people exist before timing, as they would in a running team
            await handoffs.queue(workspace=WS, viewer=p, limit=1)
        person_ids = [await raw.fetchval("SELECT id FROM people WHERE external_id=$1", p.external_id) for p in people]

        async def service_claim(service, handoff_id, i):
            outcome = await service.claim(workspace=WS, person=people[i], handoff_id=handoff_id)
            assert isinstance(outcome, Won), outcome

        async def raw_claim(handoff_id, i):
            await raw.fetchval(RAW_CLAIM, handoff_id, ws_id, person_ids[i])

        async def fresh_batch() -> list[uuid.UUID]:
            batch = await make_handoffs(handoffs, args.claims)
            await raw.execute("ANALYZE")
            return batch

        for service in (handoffs, stepwise):  # ids learned before timing, as in a running process
            await service.claim(workspace=WS, person=people[0], handoff_id=uuid.uuid4())
        rows = []
        for c in CONCURRENCY:
            won, before, lost, bare = [], [], [], []
            for _ in range(args.repeat):
                fresh = await fresh_batch()
                before.append(await run_claimers(fresh, c, lambda h, i: service_claim(stepwise, h, i)))
                fresh = await fresh_batch()
                won.append(await run_claimers(fresh, c, lambda h, i: service_claim(handoffs, h, i)))
                # The same handoffs again, by other people: every claim is a conflict.
                shifted = people[1:] + people[:1]
                lost.append(await run_claimers(
                    fresh, c, lambda h, i: handoffs.claim(workspace=WS, person=shifted[i], handoff_id=h)
                ))
                fresh = await fresh_batch()
                bare.append(await run_claimers(fresh, c, raw_claim))
            rows.append((c, *(statistics.median(x) for x in (won, before, lost, bare))))
        await raw.close()
    finally:
        await database.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    print(f"PostgreSQL claims/s, {args.claims} claims per run, median of {args.repeat} runs, {os.cpu_count()} cores")
    print(f"{'claimers':>8} {'won/s':>7} {'before/s':>9} {'conflict/s':>11} {'raw UPDATE/s':>13} "
          f"{'won/raw':>8} {'before/raw':>11} {'conflict/raw':>13}")
    for c, won, before, lost, bare in rows:
        print(f"{c:>8} {won:>7.0f} {before:>9.0f} {lost:>11.0f} {bare:>13.0f} "
              f"{won / bare:>8.2f} {before / bare:>11.2f} {lost / bare:>13.2f}")


if __name__ == "__main__":
    asyncio.run(main())
