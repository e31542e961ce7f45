"""Reminders across processes (PostgreSQL, HANDOFF_REMINDERS=2s,4s, real `handoff serve` processes against the
Slack stand-in): a server killed with SIGKILL and started again still nudges exactly once per step, and two
replicas on one database never nudge twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from core.handoffs import Handoffs
from core.jobs import TIMER_KINDS
from db import outbox
from db.tables import utcnow
from db.engine import Database
from standins.slack import requests as slack
from standins.slack.requests import SlackSender
from tests.fakes.slack_api import ACME_TEAM, fake_slack
from tests.journeys.slack_bot import CAROL, CHANNEL, JAMIE, SIGNING_SECRET, eventually, slack_person, workspace

HANDOFF = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `handoff serve` process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen([*HANDOFF, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT)

    async def ready(self, session: aiohttp.ClientSession, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"handoff serve exited with {self.process.returncode}"
            try:
                async with session.get(f"{self.url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError("handoff serve did not become ready")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()


@asynccontextmanager
async def rig(pg_url: str, tmp_path: Path):
    async with fake_slack() as (fake, api_url), aiohttp.ClientSession() as session:
        for actor in (JAMIE, CAROL):
            fake.add_user(actor.user_id, actor.name, team_id=ACME_TEAM.id)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HANDOFF_", "SLACK_", "ANTHROPIC_"))}
        env.update(HANDOFF_DATABASE_URL=pg_url, SLACK_BOT_TOKEN=ACME_TEAM.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   SLACK_API_URL=api_url, HANDOFF_SLACK_CHANNEL=CHANNEL, HANDOFF_REMINDERS="2s,4s",
                   HANDOFF_JOB_POLL_S="0.1", HANDOFF_JOB_LEASE_S="3", PYTHONPATH=str(Path.cwd()))
        servers: list[Server] = []

        def start() -> Server:
            server = Server(env, tmp_path / "serve.log")
            servers.append(server)
            return server

        database = Database(pg_url)
        try:
            yield fake, session, start, Handoffs(database)
        finally:
            for server in servers:
                server.kill()
            await database.dispose()


async def escalate(fake, session, server: Server) -> str:
    """/escalate, then submit the modal, through this server: returns the card's ts."""
    sender = SlackSender(server.url, SIGNING_SECRET, session)
    assert (await sender.send(slack.slash_command(JAMIE))).status == 200
    await eventually(lambda: fake.calls_to("views.open"), timeout_s=60)
    view = list(fake.world.views.values())[-1]
    answer = await sender.send(slack.view_submission(JAMIE, view_id=view["id"], private_metadata=view.get(
        "private_metadata", ""), values=slack.modal_values(summary="Domain controller replication failing")))
    assert answer.status == 200, answer.text
    card = await eventually(lambda: fake.channel(CHANNEL), timeout_s=60)
    return card[0]["ts"]


async def nothing_left(handoffs: Handoffs) -> None:
    """No job running (a killed server's lease counts until it runs out and another takes it) and none due:
    whatever the servers were going to say, they have said."""
    async def idle():
        async with handoffs.db.transaction() as conn:
            return await outbox.is_idle(conn, now=utcnow(), timers=TIMER_KINDS)
    await eventually(idle, timeout_s=60)


def nudges(fake, ts) -> list[str]:
    return [m["text"] for m in fake.thread(CHANNEL, ts) if "Still waiting for pick-up" in m["text"]]


def overdue_dms(fake) -> list[str]:
    return [m["text"] for m in fake.dms_to(CAROL.user_id) if "Overdue" in m["text"]]


async def test_a_server_killed_between_nudges_nudges_once_per_step_after_restart(pg_url, tmp_path):
    async with rig(pg_url, tmp_path) as (fake, session, start, handoffs):
        first = start()
        await first.ready(session)
        await handoffs.bootstrap_admin(workspace=workspace(), person=slack_person(CAROL))
        ts = await escalate(fake, session, first)
        await eventually(lambda: len(nudges(fake, ts)) >= 1, timeout_s=60)
        first.kill()  # SIGKILL: whatever it was doing, it is gone; the second step is due in about 2 s
        await asyncio.sleep(3)
        second = start()
        await second.ready(session)
        await eventually(lambda: overdue_dms(fake), timeout_s=60)
        await eventually(lambda: len(nudges(fake, ts)) >= 2, timeout_s=60)
        await nothing_left(handoffs)  # anything doubled has been said by now
        said = nudges(fake, ts)
        assert len(said) == 2 and "Reminder 1 of 2" in said[0] and "Reminder 2 of 2" in said[1]
        assert len(overdue_dms(fake)) == 1


async def test_two_replicas_on_one_database_never_nudge_twice(pg_url, tmp_path):
    async with rig(pg_url, tmp_path) as (fake, session, start, handoffs):
        replicas = [start(), start()]
        await asyncio.gather(*(r.ready(session) for r in replicas))
        await handoffs.bootstrap_admin(workspace=workspace(), person=slack_person(CAROL))
        ts = await escalate(fake, session, replicas[0])
        await eventually(lambda: overdue_dms(fake), timeout_s=60)
        await eventually(lambda: len(nudges(fake, ts)) >= 2, timeout_s=60)
        await nothing_left(handoffs)  # anything doubled has been said by now
        said = nudges(fake, ts)
        assert len(said) == 2 and "Reminder 1 of 2" in said[0] and "Reminder 2 of 2" in said[1]
        assert len(overdue_dms(fake)) == 1
        async with handoffs.db.transaction() as conn:
            rows = await conn.exec_driver_sql(
                "SELECT count(*), count(DISTINCT lease_owner) FROM jobs WHERE kind = 'remind.step'")
            assert rows.one()[0] == 2
