"""How fast the bot answers Slack when people press Pick Up, beside a bare bolt app that only acks.

Both apps are served the same way (aiohttp on 127.0.0.1, bolt's aiohttp adapter, signature checks
on) and hit with the same signed block_actions requests in the same run, at 1, 16 and 64 concurrent
requests. The real app runs its worker and the claim after each ack; its Slack calls go to the local
stand-in, served from a separate process. Each burst starts from quiet (the worker idle).
Prints p50/p99 of each and the ratio. Goal: p99 < 300 ms at 64 concurrent, ratio <= 2.

    .venv/bin/python bench/slack_ack.py                    # PostgreSQL at 127.0.0.1:5432 (user postgres)
    .venv/bin/python bench/slack_ack.py --sqlite           # the embedded SQLite default
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pg import scratch_database  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.server import SERVICES, create_app  # noqa: E402
from bot.slack.app import SLACK, events_route  # noqa: E402
from core.budget import Pace  # noqa: E402
from core.models import PersonKey, WorkspaceKey  # noqa: E402
from core.snapshot import Snapshot  # noqa: E402
from standins.http import serve  # noqa: E402
from standins.slack import requests as slack  # noqa: E402
from standins.slack.requests import Actor, SlackSender  # noqa: E402
from standins.slack.web_api import SlackWebApiStandIn, Team  # noqa: E402

SECRET = "bench-secret"
TEAM = Team(id="T-BENCH", name="Bench", bot_token="xoxb-bench")
CHANNEL = "C-ESCALATIONS"
LEVELS = (1, 16, 64)
SAMPLES = 512  # clicks per level and app


def bare_bolt_app() -> web.Application:
    """The floor: bolt verifying the signature and acking, nothing else."""

    async def authorize(enterprise_id, team_id, logger):
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=TEAM.bot_token,
                               bot_user_id="UBOT", bot_id="BBOT")

    bolt = AsyncApp(signing_secret=SECRET, authorize=authorize)

    @bolt.action("handoff_pickup")
    async def pick_up(ack):
        await ack()

    app = web.Application()
    app.router.add_post("/slack/events", events_route(bolt))
    return app


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def idle(services) -> None:
    """Wait until the worker has finished the replies a burst caused (each burst starts from quiet)."""
    from core.jobs import TIMER_KINDS
    from db import outbox

    while True:
        async with services.database.transaction() as conn:
            if await outbox.is_idle(conn, now=services.handoffs.clock(), timers=TIMER_KINDS):
                return
        await asyncio.sleep(0.05)


async def clicks(sender: SlackSender, *, concurrency: int, handoff_ids: list[str], services=None) -> list[float]:
    """SAMPLES clicks, `concurrency` at a time, each round on the next handoff (so most clicks lose a race)."""
    times: list[float] = []
    rounds = max(1, SAMPLES // concurrency)
    for r in range(rounds):
        handoff = handoff_ids[r % len(handoff_ids)]
        people = [Actor(f"U-SENIOR-{concurrency}-{r}-{i}", f"Senior {i}", team_id=TEAM.id) for i in range(concurrency)]
        answers = await asyncio.gather(*(
            sender.send(slack.block_action(p, action_id="handoff_pickup", value=handoff, message_ts="1.000001"))
            for p in people))
        bad = [a for a in answers if a.status != 200]
        if bad:
            raise SystemExit(f"bench: a click was answered {bad[0].status}: {bad[0].text[:200]}")
        times += [a.elapsed_s for a in answers]
        if services is not None and concurrency > 1:
            await asyncio.sleep(0.1)  # the claims run after their acks
            await idle(services)
    return times


async def open_handoffs(services, n: int) -> list[str]:
    workspace = WorkspaceKey("slack", TEAM.id, TEAM.name)
    await services.handoffs.register_workspace(workspace, channel=CHANNEL)
    ids = []
    for i in range(n):
        outcome = await services.handoffs.escalate(workspace=workspace, author=PersonKey("U-JUNIOR", "Junior"),
                                                   snapshot=Snapshot(summary=f"Bench escalation {i}"))
        ids.append(str(outcome.handoff.id))
    return ids


def run_standin(port_queue) -> None:
    """The Slack stand-in in its own process: real Slack's work is not on the bot's CPU either."""

    async def main() -> None:
        async with serve(SlackWebApiStandIn(TEAM).app()) as url:
            port_queue.put(url)
            await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.contextmanager
def standin_process():
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=run_standin, args=(queue,), daemon=True)
    process.start()
    try:
        yield queue.get(timeout=30)
    finally:
        process.terminate()
        process.join(5)


async def measure(database_url: str) -> list[tuple[int, list[float], list[float]]]:
    results = []
    with standin_process() as slack_url:
        settings = Settings(database_url=database_url, slack_bot_token=TEAM.bot_token, slack_signing_secret=SECRET,
                            slack_api_url=f"{slack_url}/api/", slack_channel=CHANNEL)
        app = create_app(settings)
        async with serve(app) as bot_url, serve(bare_bolt_app()) as bare_url, \
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            app[SLACK].delivery.pace = Pace(interval_s=0.0)  # the stand-in has no rate limit to respect
            handoff_ids = await open_handoffs(app[SERVICES], 64)
            real, bare = SlackSender(bot_url, SECRET, session), SlackSender(bare_url, SECRET, session)
            await clicks(bare, concurrency=8, handoff_ids=handoff_ids)  # warm both up
            await clicks(real, concurrency=8, handoff_ids=handoff_ids[-4:])
            for level in LEVELS:
                bare_times = await clicks(bare, concurrency=level, handoff_ids=handoff_ids)
                real_times = await clicks(real, concurrency=level, handoff_ids=handoff_ids, services=app[SERVICES])
                results.append((level, real_times, bare_times))
    return results


def report(results, backend: str) -> bool:
    ms = 1000
    print(f"Pick Up click -> HTTP answer, {SAMPLES} clicks per level, database: {backend}")
    print(f"{'concurrent':>10} | {'handoff p50':>11} {'p99':>8} | {'bare bolt p50':>13} {'p99':>8} | {'p99 ratio':>9}")
    ok = True
    for level, real, bare in results:
        r50, r99 = statistics.median(real) * ms, percentile(real, 0.99) * ms
        b50, b99 = statistics.median(bare) * ms, percentile(bare, 0.99) * ms
        ratio = r99 / b99 if b99 else float("inf")
        print(f"{level:>10} | {r50:>9.1f}ms {r99:>6.1f}ms | {b50:>11.1f}ms {b99:>6.1f}ms | {ratio:>9.2f}")
        if level == 64:
            ok = r99 < 300 and ratio <= 2
    print("goal (p99 < 300 ms at 64 concurrent, ratio <= 2):", "met" if ok else "NOT met")
    return ok


async def with_postgres(server_url: str):
    async with scratch_database(server_url) as database_url:
        return await measure(database_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="use a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--pg", default=os.environ.get("HANDOFF_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            results = asyncio.run(measure(f"sqlite+aiosqlite:///{folder}/bench.db"))
        backend = "SQLite (embedded)"
    else:
        results = asyncio.run(with_postgres(args.pg))
        backend = "PostgreSQL"
    return 0 if report(results, backend) else 1


if __name__ == "__main__":
    sys.exit(main())
