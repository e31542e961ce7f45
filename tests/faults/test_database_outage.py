"""PostgreSQL refusing connections for a while (HANDOFF_FAULT_OUTAGE_S, default 6 s; 30 s in the issue):
the modal (Slack) and the dialog (Teams) say to try again, /readyz says why, and the worker backs off
and resumes by itself."""

from __future__ import annotations

import asyncio
import json
import os
import time

import aiohttp
import asyncpg

from standins.slack import requests as slack_requests
from standins.slack.requests import Actor
from db.engine import Database
from tests.faults.pg_cluster import PrivateCluster
from tests.faults.rig import CHANNEL, Rig
from tests.teams import harness as teams

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


async def test_teams_dialog_says_try_again_while_the_database_refuses(tmp_path):
    """Teams: the Escalate dialog stays open saying nothing was sent and to try again; the same dialog
    sent again once the database is back makes one escalation."""
    cluster = PrivateCluster(max_connections=30)
    await asyncio.to_thread(cluster.init().start)
    try:
        admin = await asyncpg.connect(cluster.url.replace("+asyncpg", ""))
        await admin.execute('CREATE DATABASE "handoff"')
        await admin.close()
        database = Database(cluster.url.rsplit("/", 1)[0] + "/handoff")
        async with teams.teams_bot(database) as bot:
            jamie, alex = teams.teams_user("Jamie"), teams.teams_user("Alex Admin")
            await teams.use_this_channel(bot, alex)
            dialog = await teams.open_dialog(bot, jamie)
            form = teams.submit(jamie, bot.fake.service_url, dialog, summary="Finance share is read-only")

            await asyncio.to_thread(cluster.stop)
            status, body = await bot.send(form)
            assert status == 200, body
            assert body["task"]["type"] == "continue", "the dialog stays open"
            shown = json.dumps(body["task"]["value"]["card"]["content"])
            assert "Nothing was sent yet" in shown and "try again" in shown
            assert "Finance share is read-only" in shown, "what they typed is kept"

            await asyncio.to_thread(cluster.start)
            status, body = await bot.send(form)
            assert status == 200 and body["task"]["type"] == "message", body
            await bot.drain()
            [handoff] = await bot.handoffs.queue(workspace=teams.ACME_TEAMS, viewer=teams.key(alex))
            assert handoff.snapshot.summary == "Finance share is read-only"
            assert len(bot.fake.created) == 1
        await database.dispose()
    finally:
        await asyncio.to_thread(cluster.destroy)
