"""SIGTERM to one of two replicas during traffic: it exits within HANDOFF_SHUTDOWN_S, having finished
or handed back its jobs; nothing is lost and nothing is posted twice."""

from __future__ import annotations

import asyncio
import json
import time

from standins.slack.requests import Actor
from tests.fakes.anthropic import FakeAnthropic, assessment
from tests.faults.rig import CHANNEL, Rig

SHUTDOWN_S = 6.0
ESCALATIONS = 12


async def _held_jobs(rig: Rig, pid: int) -> int:
    rows = await rig.query("SELECT count(*) AS n FROM jobs WHERE state = 'running' AND lease_owner LIKE $1", f"%:{pid}:%")
    return rows[0]["n"]


async def test_sigterm_during_traffic_exits_in_budget_and_loses_nothing(tmp_path):
    slow_model = FakeAnthropic(default=assessment(delay_s=1.5))  # jobs are in flight when the signal comes
    async with Rig(tmp_path, shutdown_s=SHUTDOWN_S, model=slow_model) as rig:
        authors = [Actor(f"U-AUTHOR-{i:02d}", f"Author {i}", channel_id=CHANNEL) for i in range(ESCALATIONS)]

        async def escalate(i: int, author: Actor):
            await asyncio.sleep(i * 0.25)
            return await rig.submit(author, summary=f"Escalation {i}: VPN drops every ten minutes")

        traffic = asyncio.gather(*(escalate(i, a) for i, a in enumerate(authors)))
        leaving = rig.replicas[1]
        pid = leaving.process.pid
        for _ in range(50):  # signal it while it is running a job
            if await _held_jobs(rig, pid):
                break
            await asyncio.sleep(0.1)
        held = await _held_jobs(rig, pid)
        leaving.terminate()
        signalled = time.monotonic()
        code = await leaving.wait(SHUTDOWN_S + 10)
        took = time.monotonic() - signalled
        left_running = await _held_jobs(rig, pid)
        submitted = await traffic
        settle_started = time.monotonic()
        await rig.settled(timeout_s=60)
        print("sigterm:", json.dumps({"held_at_signal": held, "exit_s": round(took, 1), "code": code,
                                      "settled_s": round(time.monotonic() - settle_started, 1), "setup": rig.timings}))

        assert code == 0, leaving.log_tail()
        assert took <= SHUTDOWN_S + 1.0, f"exited {took:.1f}s after SIGTERM (budget {SHUTDOWN_S}s)"
        assert left_running == 0, "jobs left leased by the stopped replica (not finished, not handed back)"
        rows = await rig.query("SELECT id, idempotency_key FROM handoffs")
        assert sorted(r["idempotency_key"] for r in rows) == sorted(f"view:{s.view_id}" for s in submitted)
        cards = rig.cards()
        assert {str(r["id"]): len(cards.get(str(r["id"]), [])) for r in rows} == {str(r["id"]): 1 for r in rows}
        failed = await rig.query("SELECT kind, last_error FROM jobs WHERE state = 'failed'")
        assert failed == [], [dict(f) for f in failed]
        states = await rig.query("SELECT h.version, c.rendered_version FROM handoffs h JOIN cards c ON c.handoff_id = h.id")
        assert all(s["version"] == s["rendered_version"] for s in states)
