"""How long from escalation to the model's assessment on the card, and how much of that is ours.

Runs the real worker and the real anthropic SDK against the fake Messages API (fixed model latency),
escalates N handoffs in a burst, starts the worker, and prints how long until each assessment is stored
(first, median, p90), our overhead on top of the model's time, and the burst's drain time against the
lower bound the concurrency allows, all measured in one run.

    .venv/bin/python bench/assessment_latency.py                      # SQLite (one worker loop)
    .venv/bin/python bench/assessment_latency.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.assessment import Assessments  # noqa: E402
from core.claude import ClaudeAssessor  # noqa: E402
from core.handoffs import Handoffs  # noqa: E402
from core.worker import Worker  # noqa: E402
from db import migrate  # noqa: E402
from db.engine import Database  # noqa: E402
from tests.factories import ACME, JUNIOR, snapshot  # noqa: E402
from tests.fakes import anthropic as fa  # noqa: E402
from tests.servers import serve  # noqa: E402


async def run(args: argparse.Namespace) -> None:
    database = Database(args.database_url)
    await migrate.upgrade(database)
    fake = fa.FakeAnthropic(default=fa.assessment(delay_s=args.model_latency_ms / 1000))
    async with serve(fake.app()) as url:
        assessor = ClaudeAssessor(api_key=fake.api_key, base_url=url, model="claude-bench", concurrency=args.ai_concurrency)
        handoffs = Handoffs(database)
        worker = Worker(database, Assessments(handoffs, assessor).job_kinds(), concurrency=args.worker_concurrency, poll_s=0.05)
        await handoffs.register_workspace(ACME, channel="C-BENCH")
        escalated_at: dict = {}
        for i in range(args.handoffs):
            outcome = await handoffs.escalate(workspace=ACME, author=JUNIOR, snapshot=snapshot(summary=f"Bench problem {i}"))
            escalated_at[outcome.handoff.id] = time.monotonic()
        started = time.monotonic()
        task = asyncio.create_task(worker.run())
        ready_at: dict = {}
        while len(ready_at) < len(escalated_at) and time.monotonic() - started < 120:
            for handoff_id in escalated_at.keys() - ready_at.keys():
                state = await handoffs.load(handoff_id)
                if state.assessment_state != "pending":
                    ready_at[handoff_id] = time.monotonic()
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await assessor.aclose()
    await database.dispose()

    wall = max(ready_at.values()) - started
    # Per handoff: from the worker starting to its assessment stored (all were escalated before).
    latencies = sorted(ready_at[h] - started for h in ready_at)
    model_s = args.model_latency_ms / 1000
    ideal = model_s * -(-args.handoffs // min(args.ai_concurrency, worker.concurrency))
    print(f"backend {database.dialect}, {args.handoffs} handoffs, model latency {args.model_latency_ms} ms, "
          f"ai concurrency {args.ai_concurrency}, worker loops {worker.concurrency}")
    print(f"assessed {len(ready_at)}/{args.handoffs}; model calls {len(fake.requests)}; "
          f"max concurrent calls {fake.max_in_flight}")
    print(f"first assessment stored after {latencies[0] * 1000:.0f} ms (model {args.model_latency_ms} ms, "
          f"overhead {(latencies[0] - model_s) * 1000:.0f} ms)")
    print(f"median {statistics.median(latencies) * 1000:.0f} ms, "
          f"p90 {latencies[int(0.9 * (len(latencies) - 1))] * 1000:.0f} ms")
    print(f"burst drained in {wall:.2f} s; lower bound at this concurrency {ideal:.2f} s; ratio {wall / ideal:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db")
    parser.add_argument("--handoffs", type=int, default=40)
    parser.add_argument("--model-latency-ms", type=int, default=300)
    parser.add_argument("--ai-concurrency", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=8)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
