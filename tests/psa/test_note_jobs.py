"""PSA notes as durable jobs on PostgreSQL, against each PSA's fake over HTTP."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from cards import psa_messages
from core.models import PersonKey, Won
from tests.factories import ACME, CAROL, DANA, GLOBEX, JUNIOR, escalated
from tests.psa.notes_rig import notes_rig
from tests.psa.rigs import TICKET_ID, VENDORS, psa_rig

RACHEL = PersonKey("U-RACHEL", "Rachel")


@pytest.mark.parametrize("vendor", VENDORS)
async def test_journey_notes_in_order_each_once(pg_db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(pg_db, rig.connection()) as r:
        h = await escalated(r.handoffs, summary="Finance mailbox rejects external mail", tried="Restarted transport",
                            notes="Started after the cert rollover", urgency="high", ticket=rig.ticket_ref)
        await r.drain()
        r.clock.advance(minutes=4)
        outcomes = await asyncio.gather(*(r.handoffs.claim(workspace=ACME, person=p, handoff_id=h.id)
                                          for p in (DANA, CAROL, RACHEL)))
        winner = next(o for o in outcomes if isinstance(o, Won)).handoff.claimed_by
        r.clock.advance(minutes=2)
        await r.handoffs.record_first_action(workspace=ACME, person=PersonKey(winner.external_id), handoff_id=h.id)
        await r.drain()
        r.clock.advance(minutes=20)
        await r.handoffs.resolve(workspace=ACME, person=PersonKey(winner.external_id), handoff_id=h.id)
        await r.drain()

        notes = rig.fake.notes(TICKET_ID)
        assert len(notes) == 4, notes
        escalation, assessment, pickup, closing = notes
        assert escalation.startswith("Escalated in Slack by Jamie (urgency: high)")
        for part in ("Finance mailbox rejects external mail", "Restarted transport", "Started after the cert rollover"):
            assert part in escalation
        assert assessment.startswith("Assessment (fallback, not from the model")
        assert pickup.startswith(f"Picked up by {winner.display_name} after 4 minutes")
        assert closing.startswith(f"Resolved by {winner.display_name}.\nTime to pick-up: 4 minutes.\nTime to first action: 6 minutes.")
        assert rig.fake.violations == []
        trail = [e for e in await r.handoffs.events(h.id) if e["kind"] == "psa_note"]
        assert [e["data"]["event"] for e in trail] == ["escalated", "assessed", "claimed", "resolved"]
        assert all(e["data"]["note_id"] for e in trail)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_lost_answer_still_writes_exactly_one_note(pg_db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(pg_db, rig.connection()) as r:
        rig.fake.drop_after_note(1)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.drain()
        notes = rig.fake.notes(TICKET_ID)
        assert [n.split("\n")[0] for n in notes] == ["Escalated in Slack by Jamie (urgency: normal)",
                                                     "Assessment (fallback, not from the model)"]
        escalation_job = next(j for j in await r.jobs(h.id) if j["payload"]["event"] == "escalated")
        assert (escalation_job["state"], escalation_job["attempts"]) == ("done", 2)


@pytest.mark.parametrize("vendor", VENDORS)
async def test_psa_down_for_a_while_then_notes_arrive(pg_db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(pg_db, rig.connection()) as r:
        rig.fake.go_down(0.6)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        won = await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        assert isinstance(won, Won)  # everything else works while the PSA is down
        assert rig.fake.all_notes() == []
        await r.drain()
        assert not rig.fake.down
        assert [n.split(" ")[0] for n in rig.fake.notes(TICKET_ID)] == ["Escalated", "Picked", "Assessment"] or \
            [n.split(" ")[0] for n in rig.fake.notes(TICKET_ID)] == ["Escalated", "Assessment", "Picked"]
        assert all(j["state"] == "done" for j in await r.jobs(h.id))


@pytest.mark.parametrize("vendor", VENDORS)
async def test_bad_credentials_fail_once_visibly_and_leak_nothing(pg_db, vendor, caplog):
    caplog.set_level(logging.DEBUG)
    async with psa_rig(vendor) as rig:
        key = {"connectwise": "psa_private_key", "autotask": "psa_secret", "halo": "psa_client_secret"}[vendor]
        wrong = "wrong-S3CRET-of-" + vendor
        async with notes_rig(pg_db, rig.connection(**{key: wrong})) as r:
            h = await escalated(r.handoffs, ticket=rig.ticket_ref)
            await r.drain()
            jobs = await r.jobs(h.id)
            assert [(j["state"], j["attempts"]) for j in jobs] == [("failed", 1), ("failed", 1)]
            failures = [e for e in await r.handoffs.events(h.id) if e["kind"] == "psa_note_failed"]
            reason = psa_messages.credentials_rejected(psa_messages.VENDORS[vendor], 401)
            assert [e["data"]["error"] for e in failures] == [reason] * 2
            assert (await r.handoffs.load(h.id)).notice == psa_messages.notice(psa_messages.NOTES_STOPPED, reason)
            trail = repr(await r.handoffs.events(h.id)) + repr(jobs)
        assert rig.fake.all_notes() == []
        for secret in (wrong, rig.secret):
            assert secret not in caplog.text
            assert secret not in trail
        assert "rejected the credentials (401)" in caplog.text


async def test_two_workspaces_never_write_into_each_others_psa(pg_db):
    async with psa_rig("connectwise") as acme_psa, psa_rig("halo") as globex_psa, notes_rig(pg_db) as r:
        for key, rig in ((ACME, acme_psa), (GLOBEX, globex_psa)):
            ws = await r.handoffs.register_workspace(key, channel="C-ESCALATIONS")
            await r.directory.save(workspace_id=ws.id, connection=rig.connection())
        a = await escalated(r.handoffs, workspace=ACME, ticket=str(TICKET_ID), summary="Acme's printer is on fire")
        g = await escalated(r.handoffs, workspace=GLOBEX, ticket=str(TICKET_ID), summary="Globex VPN is down")
        await r.drain()
        assert all("Acme's printer" in n or n.startswith("Assessment") for n in acme_psa.fake.all_notes())
        assert all("Globex VPN" in n or n.startswith("Assessment") for n in globex_psa.fake.all_notes())
        assert len(acme_psa.fake.all_notes()) == len(globex_psa.fake.all_notes()) == 2
        assert a.workspace.id != g.workspace.id
        async with pg_db.transaction() as conn:
            stored = (await conn.execute(text("SELECT kind, settings::text, secrets FROM psa_connections"))).all()
        assert {row.kind for row in stored} == {"connectwise", "halo"}
        for row in stored:
            assert acme_psa.secret not in row.secrets + row.settings and globex_psa.secret not in row.secrets + row.settings


async def test_no_connection_no_ticket_no_notes(pg_db):
    async with psa_rig("halo") as rig, notes_rig(pg_db) as r:
        h = await escalated(r.handoffs, ticket=str(TICKET_ID))  # no connection for this workspace
        plain = await escalated(r.handoffs, summary="No ticket here", key="other")
        await r.drain()
        assert rig.fake.requests == []
        assert await r.jobs(plain.id) == []
        assert {j["state"] for j in await r.jobs(h.id)} == {"done"}


async def test_release_then_a_second_pick_up_each_get_their_note(pg_db):
    async with psa_rig("connectwise") as rig, notes_rig(pg_db, rig.connection()) as r:
        h = await escalated(r.handoffs, ticket=str(TICKET_ID))
        r.clock.advance(minutes=3)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        r.clock.advance(minutes=10)
        await r.handoffs.release(workspace=ACME, person=DANA, handoff_id=h.id)
        r.clock.advance(minutes=2)
        await r.handoffs.claim(workspace=ACME, person=CAROL, handoff_id=h.id)
        await r.drain()
        notes = [n.split("\n")[0] for n in rig.fake.notes(TICKET_ID) if not n.startswith("Assessment")]
        assert notes == ["Escalated in Slack by Jamie (urgency: normal)", "Picked up by Dana after 3 minutes",
                         "Released by Dana after holding it 10 minutes: back in the escalation queue.",
                         "Picked up by Carol after 15 minutes"]
