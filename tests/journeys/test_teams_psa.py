"""Teams: the dialog's ticket reference is checked against the PSA; the card names the ticket, notes follow."""

from __future__ import annotations

from tests.journeys.test_psa_assign import teams_pick_up
from tests.journeys.test_teams_escalation import card_text
from tests.psa.rigs import TICKET_ID, psa_rig
from tests.teams.harness import open_dialog, posted_card, submit, teams_bot, teams_user, use_this_channel


async def test_teams_ticket_check_card_and_notes(pg_db):
    junior, admin = teams_user("Jamie"), teams_user("Alex Admin")
    async with psa_rig("autotask") as rig, teams_bot(pg_db, psa_retry_base_s=0.05, **rig.env) as bot:
        url = bot.fake.service_url
        await use_this_channel(bot, admin)
        dialog = await open_dialog(bot, junior)
        status, body = await bot.send(submit(junior, url, dialog, ticket="T20990101.0001"))
        form = body["task"]["value"]["card"]["content"]
        assert status == 200 and body["task"]["type"] == "continue"
        assert "Autotask has no ticket T20990101.0001" in card_text(form)
        assert bot.fake.of_kind("create") == []

        status, body = await bot.send(submit(junior, url, dialog, ticket=rig.ticket_ref, urgency="high"))
        assert status == 200 and body["task"]["type"] == "message"
        await bot.drain()
        _, _, card = posted_card(bot)
        shown = "\n".join(f.get("value", "") for b in card["body"] if b.get("type") == "FactSet" for f in b["facts"])
        assert f"{rig.ticket_ref} · Mail flow broken for finance (Contoso Ltd)" in shown.replace("\\", "")
        [escalation, assessment] = rig.fake.notes(TICKET_ID)
        assert escalation.startswith("Escalated in Teams by Jamie (urgency: high)")
        assert assessment.startswith("Assessment (")
        assert rig.fake.violations == []


async def test_teams_pick_up_note_names_the_senior_as_teams_shows_them(pg_db):
    senior = teams_user("Dana Kowalski")  # the activity's from.name: Teams' display name
    async with psa_rig("halo") as rig, teams_bot(pg_db, psa_retry_base_s=0.05, **rig.env) as bot:
        await teams_pick_up(bot, rig, senior)
        pickup = [n for n in rig.fake.notes(TICKET_ID) if n.startswith("Picked up by")]
        assert len(pickup) == 1 and pickup[0].startswith("Picked up by Dana Kowalski after less than a minute")
