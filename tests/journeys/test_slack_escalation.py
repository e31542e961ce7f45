"""Slack journeys: a junior escalates, seniors pick up, over real HTTP with signed requests."""

import asyncio

from tests.journeys.slack_bot import (
    CAROL, CHANNEL, DANA, JAMIE, buttons, card_text, eventually, running_bot, slack_person, workspace,
)


async def test_escalate_card_assessment_and_pick_up(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        view = await bot.open_modal(JAMIE, "Finance mailbox rejects external mail")
        assert view["blocks"][0]["element"]["initial_value"] == "Finance mailbox rejects external mail"
        answer = await bot.submit(JAMIE, view, summary="Finance mailbox rejects external mail",
                                  tried="Restarted transport", urgency="high", ticket="INC-42")
        assert answer.status == 200 and answer.json()["response_action"] == "update"
        [handoff] = await bot.handoffs.queue(workspace=workspace(), viewer=slack_person(DANA))
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: "Check the inbound connector" in card_text(bot.card(ts)))
        card = bot.card(ts)
        assert "Finance mailbox rejects external mail" in card_text(card) and buttons(card) == ["handoff_pickup", "handoff_snooze"]
        assert len(bot.fake.channel(CHANNEL)) == 1

        assert (await bot.press(DANA, "pickup", handoff.id, ts)).status == 200
        await eventually(lambda: "Picked up by <@U-DANA>" in card_text(bot.card(ts)))
        await eventually(lambda: bot.fake.thread(CHANNEL, ts))
        checklist = bot.fake.thread(CHANNEL, ts)[0]
        assert "☐ Check the inbound connector's certificate" in card_text(checklist)
        assert buttons(bot.card(ts)) == ["handoff_release", "handoff_resolve"]
        # The author got a link to the card.
        await eventually(lambda: bot.fake.dms_to("U-JAMIE"))
        assert "slack.com/archives/C-ESCALATIONS/p" in bot.fake.dms_to("U-JAMIE")[0]["text"]
