"""The fault rig: `handoff serve` replicas (separate processes, this checkout's code) on a private
PostgreSQL, a fault-injecting Slack stand-in and a fake model, all over HTTP on 127.0.0.1.

Loops here are bounded: every wait has a deadline and fails the test when it passes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from core import jobs as job_kinds
from standins.slack import requests as slack_requests
from standins.slack.requests import Actor, SlackSender
from standins.slack.web_api import SlackWebApiStandIn, Team
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.slack_faults import SlackFaults, faulty_slack_app
from tests.faults.pg_cluster import PrivateCluster, free_port
from tests.servers import serve

SECRET = "fault-signing-secret"
TEAM = Team(id="T-ACME", name="Acme MSP", bot_token="xoxb-acme")
CHANNEL = "C-ESCALATIONS"
HANDOFF = Path(sys.executable).with_name("handoff")
LATER_JOBS = (job_kinds.REMIND, job_kinds.FIRST_ACTION_NUDGE, job_kinds.ASSESS_DEADLINE)  # due minutes later  # this venv's entry point: the checkout's code


@dataclass
class Replica:
    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession, *, timeout_s: float = 60.0) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it; closed with the process
        self.process = await asyncio.create_subprocess_exec(
            str(HANDOFF), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            env=self.env, stdout=log, stderr=log,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise AssertionError(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                async with session.get(f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=1)) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not healthy within {timeout_s}s:\n{self.log_tail()}")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout_s: float) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout_s)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Submitted:
    view_id: str
    author: Actor
    tries: int
    told_to_retry: int


class Rig:
    """One scenario's world. `async with Rig(tmp_path) as rig:` starts everything, stops it after."""

    def __init__(self, tmp_path: Path, *, replicas: int = 2, shutdown_s: float = 20.0,
                 slack_faults: SlackFaults | None = None, model: FakeAnthropic | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        # Replica logs: the test's temporary directory, or HANDOFF_FAULT_LOGS to keep them.
        self.tmp = Path(os.environ.get("HANDOFF_FAULT_LOGS") or tmp_path)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.cluster = PrivateCluster(max_connections=80)
        self.slack = SlackWebApiStandIn(TEAM)
        self.faults = slack_faults or SlackFaults(rate_limited=0, errors=0, lost_answers=0)
        self.model = model or FakeAnthropic()
        self.shutdown_s = shutdown_s
        self.extra_env = extra_env or {}
        self.count = replicas
        self.replicas: list[Replica] = []
        self._stack = AsyncExitStack()
        self._next = 0
        self.timings: dict[str, float] = {}  # how long the setup took, for the scenario's report

    async def __aenter__(self) -> Rig:
        stack = self._stack
        started = time.monotonic()
        await asyncio.to_thread(self.cluster.init().start)
        self.timings["cluster_started_s"] = round(time.monotonic() - started, 1)
        stack.push_async_callback(asyncio.to_thread, self.cluster.destroy)
        admin = await asyncpg.connect(self.raw_url("postgres"))
        await admin.execute('CREATE DATABASE "handoff"')
        await admin.close()
        slack_url = await stack.enter_async_context(serve(faulty_slack_app(self.slack, self.faults)))
        self.slack.url = slack_url
        model_url = await stack.enter_async_context(serve(self.model.app()))
        self.session = await stack.enter_async_context(aiohttp.ClientSession())
        env = {
            "PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "HANDOFF_DATABASE_URL": self.database_url,
            "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": TEAM.bot_token,
            "SLACK_API_URL": f"{slack_url}/api/", "HANDOFF_SLACK_CHANNEL": CHANNEL,
            "ANTHROPIC_API_KEY": self.model.api_key, "ANTHROPIC_BASE_URL": model_url,
            "HANDOFF_AI_TIMEOUT_S": "2", "HANDOFF_AI_MAX_RETRIES": "0",
            "HANDOFF_SHUTDOWN_S": str(self.shutdown_s), "HANDOFF_LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        self.replicas = [
            Replica(f"replica-{i}", env, self.tmp / f"replica-{i}.log") for i in range(self.count)
        ]
        stack.push_async_callback(self._stop_replicas)
        # All at once, as a deployment rolls them out: each upgrades the schema first, which is safe with
        # replicas starting together (an advisory lock), and their imports overlap instead of queueing.
        started = time.monotonic()
        await asyncio.gather(*(r.start(self.session) for r in self.replicas))
        self.timings["replicas_started_s"] = round(time.monotonic() - started, 1)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._stack.aclose()

    async def _stop_replicas(self) -> None:
        for replica in self.replicas:
            if replica.alive:
                replica.kill()
                await replica.wait(10)

    # --- addresses -----------------------------------------------------------------------------

    def raw_url(self, database: str = "handoff") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.cluster.port}/{database}"

    @property
    def database_url(self) -> str:
        return self.raw_url().replace("postgresql://", "postgresql+asyncpg://", 1)

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive]

    def sender(self) -> SlackSender:
        """A signed-request sender to the next live replica (the load balancer)."""
        live = self.alive()
        assert live, "no replica is running"
        self._next += 1
        return SlackSender(live[self._next % len(live)].url, SECRET, self.session)

    # --- what users do ---------------------------------------------------------------------------

    async def submit(self, author: Actor, *, summary: str, max_tries: int = 20) -> Submitted:
        """Submit the /escalate modal; when the answer is an error the user reads it and sends the same
        modal again (same view id, as Slack keeps it), and when the request fails they retry too."""
        view_id = f"V{uuid.uuid4().hex[:10].upper()}"
        body = slack_requests.view_submission(
            author, view_id=view_id, values=slack_requests.modal_values(summary=summary, tried="Restarted the service"),
        )
        told = 0
        for attempt in range(1, max_tries + 1):
            try:
                answer = await asyncio.wait_for(self.sender().send(body), 10)
            except (aiohttp.ClientError, asyncio.TimeoutError, AssertionError):
                await asyncio.sleep(0.5)
                continue
            payload = answer.json() if answer.status == 200 and answer.text else None
            if payload and payload.get("response_action") == "update":
                return Submitted(view_id, author, attempt, told)
            if payload and payload.get("response_action") == "errors":
                told += 1
            await asyncio.sleep(0.5)
        raise AssertionError(f"{author.user_id}'s escalation never went through in {max_tries} tries")

    async def pick_up(self, actor: Actor, *, handoff_id: str, message_ts: str) -> int:
        body = slack_requests.block_action(
            actor, action_id="handoff_pickup", value=handoff_id, message_ts=message_ts, channel_id=CHANNEL,
            response_url=self.slack.response_url(user=actor.user_id, channel=CHANNEL),
        )
        for _ in range(10):
            try:
                return (await asyncio.wait_for(self.sender().send(body), 10)).status
            except (aiohttp.ClientError, asyncio.TimeoutError):
                await asyncio.sleep(0.3)
        raise AssertionError(f"{actor.user_id}'s click never reached a replica")

    # --- what the database and Slack hold --------------------------------------------------------

    async def query(self, sql: str, *args):
        conn = await asyncpg.connect(self.raw_url(), timeout=5)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    def cards(self) -> dict[str, list[dict]]:
        """The channel's top-level messages that are cards, by the handoff id in their metadata."""
        found: dict[str, list[dict]] = {}
        for message in self.slack.channel(CHANNEL):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("handoff_id"):
                found.setdefault(payload["handoff_id"], []).append(message)
        return found

    async def settled(self, *, timeout_s: float) -> float:
        """Wait until no job is running or due within a minute (reminders and deadlines come later);
        returns when (time.monotonic())."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                rows = await self.query(
                    "SELECT count(*) AS n FROM jobs WHERE state = 'running' OR (state = 'pending' "
                    "AND run_after < now() AT TIME ZONE 'UTC' + interval '1 minute' AND kind <> ALL($1::text[]))",
                    list(LATER_JOBS))
                if rows[0]["n"] == 0:
                    return time.monotonic()
            except (OSError, asyncpg.PostgresError):
                pass
            await asyncio.sleep(0.25)
        left = await self.query("SELECT kind, state, attempts, last_error, lease_owner, run_after, lease_until, now() "
                                "FROM jobs WHERE state IN ('pending','running') ORDER BY run_after")
        raise AssertionError(f"jobs still open after {timeout_s}s: {[dict(r) for r in left][:10]}")


def max_in_window(times: list[float], window_s: float) -> int:
    """The most events in any `window_s` span."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best
