"""PostgreSQL refusing connections for a while (HANDOFF_FAULT_OUTAGE_S, default 6 s; 30 s in the issue):
the modal says to try again, /readyz says why, and the worker backs off and resumes by itself."""

from __future__ import annotations

import asyncio
import json
import os
import time

import aiohttp

from standins.slack import requests as slack_requests
from standins.slack.requests import Actor
from tests.faults.rig import CHANNEL, Rig

OUTAGE_S = float(os.environ.get("HANDOFF_FAULT_OUTAGE_S", "6"))


async def _readyz(rig: Rig) -> tuple[int, dict]:
    async with rig.session.get(f"{rig.replicas[0].url}/readyz", timeout=aiohttp.ClientTimeout(total=10)) as resp:
        return resp.status, await resp.json()


async def test_database_refusing_connections(tmp_path):
    async with Rig(tmp_path, replicas=1) as rig:
        jamie = Actor("U-JAMIE", "Jamie", channel_id=CHANNEL)
        before = await rig.submit(jamie, summary="Printer queue stuck on the second floor")
        await rig.settled(timeout_s=30)

        await asyncio.to_thread(rig.cluster.stop)
        down_at = time.monotonic()
        body = slack_requests.view_submission(jamie, view_id="V-DURING-OUTAGE", values=slack_requests.modal_values(
            summary="Finance share is read-only", tried="Remapped the drive"))
        answer = await rig.sender().send(body)
        status, ready = await _readyz(rig)
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        await asyncio.to_thread(rig.cluster.start)

        assert answer.status == 200 and answer.json()["response_action"] == "errors", answer.text
        said = json.dumps(answer.json()["errors"])
        assert "try again" in said and "Nothing was sent yet" in said
        assert status == 503 and ready["status"] == "unavailable" and "database" in ready["reason"], ready

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (await _readyz(rig))[0] != 200:
            await asyncio.sleep(0.2)
        assert (await _readyz(rig))[0] == 200, "/readyz did not recover after the database came back"
        # The user sends the same modal again; the worker, which never stopped, posts its card.
        again = await rig.submit(jamie, summary="Finance share is read-only")
        await rig.settled(timeout_s=30)
        rows = await rig.query("SELECT id, idempotency_key FROM handoffs")
        assert len(rows) == 2 and len(rig.cards()) == 2, (rows, rig.cards())
        assert {f"view:{before.view_id}", f"view:{again.view_id}"} == {r["idempotency_key"] for r in rows}
        # Backing off, not spinning: a bounded number of reconnection attempts while it was down.
        log = rig.replicas[0].log_path.read_text(errors="replace")
        attempts = log.count("handoff.worker: worker: database unreachable")
        assert 0 < attempts <= 4 * (OUTAGE_S + 2), f"{attempts} worker reconnection attempts in {OUTAGE_S}s"
