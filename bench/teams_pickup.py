"""How fast Teams Pick Up invokes are answered when many people click at once.

Runs the real app (SDK JWT validation, adapter, core claim) against the fake Bot Framework on 127.0.0.1,
posts `--clickers` concurrent adaptiveCard/action invokes per round and prints latency figures.

    .venv/bin/python bench/teams_pickup.py [--database-url postgresql+asyncpg://postgres@127.0.0.1/db] [--rounds 5]
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

from db import migrate  # noqa: E402
from db.engine import Database  # noqa: E402
from tests.teams.harness import (  # noqa: E402
    card_action, open_dialog, posted_card, submit, teams_bot, teams_user, use_this_channel,
)


async def round_of_clicks(bot, clickers: int, round_no: int) -> list[float]:
    junior = teams_user(f"Junior {round_no}")
    url = bot.fake.service_url
    await bot.send(submit(junior, url, await open_dialog(bot, junior)))
    await bot.drain()
    conversation, _, card = posted_card(bot)
    bot.fake.created.clear()
    handoff_id = card["actions"][0]["data"]["handoff_id"]

    async def click(i: int) -> float:
        started = time.perf_counter()
        status, _ = await bot.send(card_action("pickup", handoff_id, sender=teams_user(f"Senior {i}"),
                                               service_url=url, conversation_id=conversation))
        assert status == 200
        return time.perf_counter() - started

    return list(await asyncio.gather(*(click(i) for i in range(clickers))))


async def main(args) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    database = Database(url, pool_size=60)
    await migrate.upgrade(database)
    latencies: list[float] = []
    async with teams_bot(database) as bot:
        await use_this_channel(bot, teams_user("Admin"))
        await round_of_clicks(bot, 2, 0)  # warm-up: JWKS and connector token fetched once
        for r in range(1, args.rounds + 1):
            latencies += await round_of_clicks(bot, args.clickers, r)
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"{args.rounds} rounds x {args.clickers} concurrent Pick Up invokes on {database.dialect}")
    print(f"answer time: median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms (Teams allows ~3 s for an invoke)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clickers", type=int, default=25)
    asyncio.run(main(parser.parse_args()))
