"""Escalating from a thread, parking for later, and the list."""

import json
import uuid

from bot.slack.delivery import SlackDelivery
from bot.slack.installations import SingleWorkspace
from standins.slack import requests as slack
from tests.journeys.slack_bot import (
    CHANNEL, DANA, JAMIE, card_text, eventually, running_bot, slack_person, workspace,
)


async def _shortcut_modal(bot, message_ts, text):
    body = slack.message_shortcut(JAMIE, message_ts=message_ts, text=text, author="U-CUSTOMER")
    assert (await bot.send(body)).status == 200
    await eventually(lambda: bot.fake.calls_to("views.update"))
    return list(bot.fake.world.views.values())[-1]


async def test_escalate_this_thread_keeps_the_link_and_recent_messages(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        root = bot.fake.add_message("C-HELPDESK", text="Outlook keeps asking for a password", user="U-CUSTOMER")
        for i in range(20):
            bot.fake.add_message("C-HELPDESK", text=f"reply {i}", user="U-JAMIE", thread_ts=root)
        body = slack.message_shortcut(slack.Actor("U-JAMIE", "Jamie", channel_id="C-HELPDESK"), message_ts=root,
                                      text="Outlook keeps asking for a password", author="U-CUSTOMER")
        assert (await bot.send(body)).status == 200
        await eventually(lambda: bot.fake.calls_to("views.update"))
        [replies_call] = bot.fake.calls_to("conversations.replies")
        assert int(replies_call.args["limit"]) == 15
        view = list(bot.fake.world.views.values())[-1]
        assert view["blocks"][1]["element"]["initial_value"] == "Outlook keeps asking for a password"
        assert "Includes 15 messages from the thread." in view["blocks"][0]["elements"][0]["text"]
        await bot.submit(JAMIE, view, summary="Outlook keeps asking for a password")
        [handoff] = await bot.handoffs.queue(workspace=workspace(), viewer=slack_person(DANA))
        assert handoff.snapshot.source_link.startswith("https://acme.slack.com/archives/C-HELPDESK/p")
        assert handoff.snapshot.excerpt.splitlines()[0] == "U-CUSTOMER: Outlook keeps asking for a password"
        assert len(handoff.snapshot.excerpt.splitlines()) == 15
        ts = await bot.card_ts(handoff.id)
        assert "Original conversation" in card_text(bot.card(ts))


async def test_thread_shortcut_in_a_channel_without_the_bot_says_to_invite_it(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        bot.fake.world.not_in_channels.add("C-ESCALATIONS")
        view = await _shortcut_modal(bot, "1700000000.000100", "Printer on floor 3 offline")
        assert "invite me with /invite @Handoff" in view["blocks"][0]["elements"][0]["text"]
        assert json.loads(view["private_metadata"])["excerpt"] == "U-CUSTOMER: Printer on floor 3 offline"


async def test_park_list_and_escalate_now(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        view = await bot.open_modal(JAMIE, "Backup job fails on Sundays")
        answer = await bot.submit(JAMIE, view, summary="Backup job fails on Sundays", intent="park")
        assert answer.json()["view"]["title"]["text"] == "Parked"
        assert bot.fake.channel(CHANNEL) == []

        listing = (await bot.send(slack.slash_command(JAMIE, "list"))).json()
        assert listing["response_type"] == "ephemeral"
        [parked] = [b for b in listing["blocks"] if b.get("accessory", {}).get("action_id") == "handoff_escalate_now"]
        assert "Backup job fails on Sundays" in parked["text"]["text"]

        handoff_id = uuid.UUID(parked["accessory"]["value"])
        await bot.send(slack.block_action(JAMIE, action_id="handoff_escalate_now", value=str(handoff_id), message_ts="1.1"))
        ts = await bot.card_ts(handoff_id)
        assert "Backup job fails on Sundays" in card_text(bot.card(ts))
        await eventually(lambda: bot.fake.ephemerals_for("U-JAMIE"))
        assert bot.fake.ephemerals_for("U-JAMIE")[0]["text"] == "Escalated: the card is going to <#C-ESCALATIONS>."

        dana_list = (await bot.send(slack.slash_command(DANA, "list"))).json()
        assert [b["accessory"]["action_id"] for b in dana_list["blocks"] if "accessory" in b] == ["handoff_pickup"]


async def test_a_retried_post_finds_the_card_it_already_posted(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        state = await bot.handoffs.load(handoff.id)
        delivery = SlackDelivery(installations=SingleWorkspace(bot_token="xoxb-acme", api_url=bot.services.settings.slack_api_url),
                                 api_url=bot.services.settings.slack_api_url, clock=bot.handoffs.clock)
        try:
            again = await delivery.post_card(state, maybe_posted=True)
        finally:
            await delivery.close()
        assert again.message_ref == ts
        assert len(bot.fake.channel(CHANNEL)) == 1
