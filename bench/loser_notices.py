"""How long a senior who lost a Pick Up race waits to be told who won (Slack, PostgreSQL).

Twenty seniors press Pick Up on the same card at once, over several rounds (a new card each round). Each
loser is told privately through their click's response_url; the thread's public record is a job paced at
Slack's one post per second per channel (kept on here, as in production), which the private notice does
not wait behind. Measured per loser: from sending the click to the Slack stand-in receiving the notice
(both on this machine's monotonic clock). Prints p50 and max over losers per round and over all rounds.
Goal: max <= 2 s.

    .venv/bin/python bench/loser_notices.py                 # PostgreSQL at 127.0.0.1:5432 (user postgres)
    .venv/bin/python bench/loser_notices.py --rounds 8 --seniors 20
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pg import scratch_database  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.server import SERVICES, create_app  # noqa: E402
from core.models import PersonKey, WorkspaceKey  # noqa: E402
from core.snapshot import Snapshot  # noqa: E402
from standins.http import serve  # noqa: E402
from standins.slack import requests as slack  # noqa: E402
from standins.slack.requests import Actor, SlackSender  # noqa: E402
from standins.slack.web_api import SlackWebApiStandIn, Team  # noqa: E402

SECRET = "bench-secret"
TEAM = Team(id="T-BENCH", name="Bench", bot_token="xoxb-bench")
CHANNEL = "C-ESCALATIONS"
GOAL_S = 2.0


async def card_posted(services, handoff_id, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = await services.handoffs.load(handoff_id)
        if state.card is not None and state.card.message_ref:
            return state.card.message_ref
        await asyncio.sleep(0.05)
    raise SystemExit("bench: the card was not posted within 30 s")


async def one_round(fake, sender, services, *, round_no: int, seniors: int) -> list[float]:
    """One race: returns click -> private notice, in seconds, for every loser."""
    workspace = WorkspaceKey("slack", TEAM.id, TEAM.name)
    outcome = await services.handoffs.escalate(workspace=workspace, author=PersonKey("U-JUNIOR", "Junior"),
                                               snapshot=Snapshot(summary=f"Bench race {round_no}"))
    ts = await card_posted(services, outcome.handoff.id)
    people = [Actor(f"U-R{round_no}-S{i:02d}", f"Senior {i:02d}", team_id=TEAM.id) for i in range(seniors)]
    for person in people:
        fake.add_user(person.user_id, person.name, team_id=TEAM.id)
    sent: dict[str, float] = {}

    async def click(person: Actor):
        body = slack.block_action(person, action_id="handoff_pickup", value=str(outcome.handoff.id), message_ts=ts,
                                  response_url=fake.response_url(user=person.user_id, channel=CHANNEL))
        sent[person.user_id] = time.monotonic()
        return await sender.send(body)

    answers = await asyncio.gather(*(click(p) for p in people))
    if any(a.status != 200 for a in answers):
        raise SystemExit("bench: a click was not answered 200")
    state = await services.handoffs.load(outcome.handoff.id)
    losers = [p.user_id for p in people if p.user_id != state.claimed_by.external_id]
    deadline = time.monotonic() + 30
    while not all(fake.ephemerals_for(u) for u in losers):
        if time.monotonic() > deadline:
            raise SystemExit("bench: not every loser was told within 30 s")
        await asyncio.sleep(0.01)
    winner = next(p.name for p in people if p.user_id == state.claimed_by.external_id)
    waits = []
    for user in losers:
        [notice] = fake.ephemerals_for(user)
        if not notice["text"].startswith(f"Already claimed by {winner},"):
            raise SystemExit(f"bench: a notice does not name the winner: {notice['text']}")
        waits.append(notice["at"] - sent[user])
    return waits


async def measure(database_url: str, *, rounds: int, seniors: int) -> list[list[float]]:
    fake = SlackWebApiStandIn(TEAM)
    async with serve(fake.app()) as slack_url:
        fake.url = slack_url
        settings = Settings(database_url=database_url, slack_bot_token=TEAM.bot_token, slack_signing_secret=SECRET,
                            slack_api_url=f"{slack_url}/api/", slack_channel=CHANNEL, job_poll_s=0.05)
        app = create_app(settings)  # the channel pacing stays at Slack's one post per second
        async with serve(app) as bot_url, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            services = app[SERVICES]
            await services.handoffs.register_workspace(WorkspaceKey("slack", TEAM.id, TEAM.name), channel=CHANNEL)
            sender = SlackSender(bot_url, SECRET, session)
            return [await one_round(fake, sender, services, round_no=r, seniors=seniors) for r in range(rounds)]


def report(per_round: list[list[float]], seniors: int) -> bool:
    ms = 1000
    print(f"Pick Up race of {seniors} on PostgreSQL: click -> each loser's private notice (response_url)")
    print(f"{'round':>5} | {'losers':>6} | {'p50':>8} | {'max':>8}")
    for i, waits in enumerate(per_round, 1):
        print(f"{i:>5} | {len(waits):>6} | {statistics.median(waits) * ms:>6.0f}ms | {max(waits) * ms:>6.0f}ms")
    everyone = [w for waits in per_round for w in waits]
    p50, worst = statistics.median(everyone), max(everyone)
    print(f"{'all':>5} | {len(everyone):>6} | {p50 * ms:>6.0f}ms | {worst * ms:>6.0f}ms")
    ok = worst <= GOAL_S
    print(f"goal (max <= {GOAL_S:.0f} s over every loser of every round):", "met" if ok else "NOT met")
    return ok


async def with_postgres(server_url: str, **kwargs) -> list[list[float]]:
    async with scratch_database(server_url) as database_url:
        return await measure(database_url, **kwargs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seniors", type=int, default=20)
    parser.add_argument("--pg", default=os.environ.get("HANDOFF_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    per_round = asyncio.run(with_postgres(args.pg, rounds=args.rounds, seniors=args.seniors))
    return 0 if report(per_round, args.seniors) else 1


if __name__ == "__main__":
    sys.exit(main())
