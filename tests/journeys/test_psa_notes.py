"""The ticket stays in step: a Slack escalation naming a PSA ticket writes its notes into the PSA.

The real app (Slack stand-in, fake Anthropic through the real SDK, PostgreSQL) with HANDOFF_PSA* pointing
at each PSA's fake over HTTP: escalation note, assessment note (labelled model), one pick-up note after a
three-way race naming the winner, a closing note with both times; in order, each once.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from standins.slack import requests as slack
from standins.slack.requests import Actor
from tests.journeys.slack_bot import (ANSWER_BOUND_S, CAROL, CHANNEL, DANA, JAMIE, card_text, eventually, running_bot,
                                      slack_person, workspace)
from tests.psa.rigs import TICKET_ID, VENDORS, psa_rig

RACHEL = Actor("U-RACHEL", "Rachel")


@pytest.mark.parametrize("vendor", VENDORS)
async def test_psa_journey_notes_in_order_each_once(pg_url, vendor):
    async with psa_rig(vendor) as rig, running_bot(pg_url, psa_retry_base_s=0.05, **rig.env) as bot:
        bot.fake.add_user(RACHEL.user_id, RACHEL.name, team_id="T-ACME")
        rig.fake.fail(503, retry_after="0")  # a first hiccup: retried, still one note
        handoff = await bot.escalate(JAMIE, summary="Finance mailbox rejects external mail",
                                     tried="Restarted transport", urgency="high", ticket=rig.ticket_ref)
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: len(rig.fake.notes(TICKET_ID)) == 2)

        answers = await asyncio.gather(*(bot.press(a, "pickup", handoff.id, ts) for a in (DANA, CAROL, RACHEL)))
        assert all(a.status == 200 for a in answers)
        state = await eventually(lambda: _claimed(bot, handoff.id))
        winner = next(a for a in (DANA, CAROL, RACHEL) if a.user_id == state.claimed_by.external_id)
        says = slack.event_callback("T-ACME", slack.thread_message(
            Actor(winner.user_id, winner.name, channel_id=CHANNEL), text="On it", thread_ts=ts))
        assert (await bot.send(says)).status == 200
        await eventually(lambda: _first_action(bot, handoff.id))
        await bot.press(winner, "resolve", handoff.id, ts)
        await eventually(lambda: len(rig.fake.notes(TICKET_ID)) >= 4)
        await bot.settled()

        escalation, assessment, pickup, closing = rig.fake.notes(TICKET_ID)
        jamie, name = JAMIE.name, winner.name  # as Slack shows them (users.info), not the clicks' usernames
        assert escalation.startswith(f"Escalated in Slack by {jamie} (urgency: high)")
        assert "Restarted transport" in escalation
        assert f"Escalation card: https://slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}" in escalation
        assert assessment.startswith("Assessment (model: ") and "Check the inbound connector" in assessment
        assert pickup.startswith(f"Picked up by {name} after less than a minute")
        assert closing.startswith(f"Resolved by {name}.\nTime to pick-up: less than a minute.\nTime to first action: less than a minute.")
        assert rig.fake.violations == []


async def test_pick_up_note_names_the_senior_as_slack_shows_them(pg_url):
    async with psa_rig("connectwise") as rig, running_bot(pg_url, psa_retry_base_s=0.05, **rig.env) as bot:
        # The click carries the username "dana"; Slack shows her display name, else her full name.
        dana = bot.fake.world.users[DANA.user_id]
        dana["profile"] = {"display_name": "Dana", "real_name": "Dana Kowalski"}
        handoff = await bot.escalate(JAMIE, ticket=rig.ticket_ref)
        ts = await bot.card_ts(handoff.id)
        # Notes follow the events: let the assessment land first, so the pick-up is the third note.
        await eventually(lambda: len(rig.fake.notes(TICKET_ID)) == 2)
        assert (await bot.press(DANA, "pickup", handoff.id, ts)).status == 200
        await eventually(lambda: len(rig.fake.notes(TICKET_ID)) == 3)
        assert (await bot.handoffs.load(handoff.id)).claimed_by.display_name == "dana"  # what the click said
        assert rig.fake.notes(TICKET_ID)[2].startswith("Picked up by Dana after less than a minute")


async def test_bad_credentials_show_admins_and_leak_nothing(pg_url, caplog):
    caplog.set_level(logging.DEBUG)
    async with psa_rig("connectwise") as rig, running_bot(
            pg_url, **{**rig.env, "psa_private_key": "wrong-S3CRET-private"}) as bot:
        handoff = await bot.escalate(JAMIE, ticket=str(TICKET_ID))
        await bot.settled()
        failed = [e["data"]["error"] for e in await bot.handoffs.events(handoff.id) if e["kind"] == "psa_note_failed"]
        assert failed and set(failed) == {"ConnectWise rejected the credentials (401)"}
        assert rig.fake.all_notes() == []
    assert "wrong-S3CRET-private" not in caplog.text and rig.secret not in caplog.text


async def _claimed(bot, handoff_id):
    state = await bot.handoffs.load(handoff_id)
    return state if state.claimed_by else None


async def _first_action(bot, handoff_id):
    return (await bot.handoffs.load(handoff_id)).first_action_at


@pytest.mark.parametrize("vendor", VENDORS)
async def test_the_ticket_is_checked_at_submit(pg_url, vendor):
    async with psa_rig(vendor) as rig, running_bot(pg_url, psa_retry_base_s=0.05, **rig.env) as bot:
        for reference, problem in (("12 34", "" ), ("1" * 200, "limit is 100"), (_missing(vendor), "has no ticket"),
                                   (rig.fake.tickets[77].number, "is closed")):
            view = await bot.open_modal(JAMIE)
            answer = await bot.submit(JAMIE, view, summary="Printer offline", ticket=reference)
            body = answer.json()
            assert body["response_action"] == "errors", body
            assert problem in " ".join(body["errors"].values())
            assert answer.elapsed_s < ANSWER_BOUND_S  # the ticket check before the answer is bounded
        assert await bot.handoffs.queue(workspace=workspace(), viewer=slack_person(DANA)) == []

        handoff = await bot.escalate(JAMIE, summary="Finance mailbox rejects external mail", ticket=rig.ticket_ref)
        ts = await bot.card_ts(handoff.id)
        assert f"{rig.ticket_ref} · Mail flow broken for finance (Contoso Ltd)" in card_text(bot.card(ts))


async def test_psa_down_at_submit_card_says_not_checked_and_notes_follow(pg_url):
    async with psa_rig("halo") as rig, running_bot(pg_url, psa_retry_base_s=0.05, **rig.env) as bot:
        rig.fake.go_down(3600)  # down until it is brought back below, however slow the machine
        handoff = await bot.escalate(JAMIE, summary="VPN drops", ticket=str(TICKET_ID))
        ts = await bot.card_ts(handoff.id)
        assert f"{TICKET_ID} (ticket not checked)" in card_text(bot.card(ts))
        assert (await bot.press(DANA, "pickup", handoff.id, ts)).status == 200  # everything else works meanwhile
        await eventually(lambda: "Picked up by <@U-DANA>" in card_text(bot.card(ts)))
        assert rig.fake.notes(TICKET_ID) == []
        rig.fake.up()
        await eventually(lambda: len(rig.fake.notes(TICKET_ID)) == 3)
        assert rig.fake.notes(TICKET_ID)[0].startswith("Escalated in Slack by")


def _missing(vendor: str) -> str:
    return "T20990101.0001" if vendor == "autotask" else "999999"
