"""Setting Handoff up from Slack: `/escalate setup` picks the channel (the first to do it in a workspace
without an admin becomes its admin, once, even racing), `/escalate role` and the settings give roles,
App Home shows the settings; non-admins change nothing."""

import asyncio
import time

from standins.slack import requests as slack
from standins.slack.requests import Actor
from tests.journeys.slack_bot import CAROL, DANA, JAMIE, card_text, eventually, running_bot

ALEX = Actor("U-ALEX", "Alex")


def settings_values(*, channel=None, people=(), role=None):
    """The `view.state.values` Slack sends for the settings modal."""
    return {
        "channel": {"channel": {"type": "conversations_select", "selected_conversation": channel}},
        "role_people": {"role_people": {"type": "multi_users_select", "selected_users": list(people)}},
        "role": {"role": {"type": "static_select", "selected_option": {"value": role} if role else None}},
    }


async def open_settings(bot, actor):
    before = len(bot.fake.calls_to("views.open"))
    assert (await bot.send(slack.slash_command(actor, "setup"))).status == 200
    await eventually(lambda: len(bot.fake.calls_to("views.open")) > before)
    return bot.fake.calls_to("views.open")[-1].args["view"] | {"id": list(bot.fake.world.views)[-1]}


async def save(bot, actor, view_id, **values):
    body = slack.view_submission(actor, view_id=view_id, values=settings_values(**values), callback_id="handoff_settings")
    return (await bot.send(body)).json()


async def roles(bot):
    """The workspace's admins (user ids)."""
    admins = await bot.handoffs.admins(workspace=workspace_key())
    return {a.external_id for a in admins}


def workspace_key():
    from core.models import WorkspaceKey
    return WorkspaceKey("slack", "T-ACME")


def said_to(bot, user):
    """What the bot told `user` privately (ephemeral or response_url), newest last."""
    return [e["text"] for e in bot.fake.ephemerals_for(user)]


async def test_the_first_person_to_pick_the_channel_becomes_admin_and_escalations_go_there(sqlite_url):
    async with running_bot(sqlite_url, slack_channel=None) as bot:
        view = await open_settings(bot, ALEX)
        channel_input = next(b for b in view["blocks"] if b["block_id"] == "channel")
        assert channel_input["element"]["type"] == "conversations_select"

        answer = await save(bot, ALEX, view["id"], channel="C-HELPDESK")
        assert answer["response_action"] == "update"
        shown = card_text({"blocks": answer["view"]["blocks"]})
        assert "<#C-HELPDESK>" in shown and "first Handoff admin" in shown
        assert await roles(bot) == {"U-ALEX"}

        escalation = await bot.open_modal(JAMIE)
        assert (await bot.submit(JAMIE, escalation, summary="Shared drive read-only")).json()["response_action"] == "update"
        await eventually(lambda: bot.fake.channel("C-HELPDESK"))
        assert "Shared drive read-only" in card_text(bot.fake.channel("C-HELPDESK")[0])

        # App Home: the settings, with the button for the admin only.
        for actor in (ALEX, JAMIE):
            await bot.send(slack.event_callback("T-ACME", {"type": "app_home_opened", "user": actor.user_id, "tab": "home"}))
        await eventually(lambda: len(bot.fake.world.home_views) == 2)
        alex_home, jamie_home = (bot.fake.world.home_views[u] for u in ("U-ALEX", "U-JAMIE"))
        assert "Escalation channel:* <#C-HELPDESK>" in card_text(alex_home) and "Admins:* alex" in card_text(alex_home)
        buttons = lambda home: [e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]  # noqa: E731
        assert "handoff_open_settings" in buttons(alex_home) and "handoff_open_settings" not in buttons(jamie_home)


async def test_the_bot_says_what_to_do_when_it_is_not_in_the_chosen_channel(sqlite_url):
    async with running_bot(sqlite_url, slack_channel=None) as bot:
        bot.fake.world.not_in_channels.add("C-PRIVATE")
        view = await open_settings(bot, ALEX)
        assert (await save(bot, ALEX, view["id"], channel="C-PRIVATE"))["response_action"] == "update"
        await eventually(lambda: bot.fake.calls_to("views.update"))
        [update] = bot.fake.calls_to("views.update")
        assert update.args["view_id"] == view["id"]
        shown = card_text({"blocks": update.args["view"]["blocks"]})
        assert "I'm not in <#C-PRIVATE> yet" in shown and "/invite @Handoff" in shown


async def test_a_non_admin_cannot_move_the_channel_or_give_roles(sqlite_url):
    async with running_bot(sqlite_url, slack_channel=None) as bot:
        view = await open_settings(bot, ALEX)
        await save(bot, ALEX, view["id"], channel="C-HELPDESK")

        moved = await save(bot, JAMIE, view["id"], channel="C-ELSEWHERE", people=["U-DANA"], role="admin")
        assert moved["response_action"] == "errors"
        assert "only a Handoff admin can move the escalation channel" in moved["errors"]["channel"]
        assert "(alex)" in moved["errors"]["channel"]
        assert (await bot.handoffs.register_workspace(workspace_key())).escalation_channel == "C-HELPDESK"

        assert (await bot.send(slack.slash_command(JAMIE, "role <@U-DANA|dana> admin"))).status == 200
        await eventually(lambda: said_to(bot, "U-JAMIE"))
        assert "only a Handoff admin can give roles" in said_to(bot, "U-JAMIE")[-1]
        assert await roles(bot) == {"U-ALEX"}

        opened = len(bot.fake.calls_to("views.open"))
        await bot.send(slack.slash_command(JAMIE, "setup"))
        await eventually(lambda: len(said_to(bot, "U-JAMIE")) == 2)
        assert "only a Handoff admin can move the escalation channel" in said_to(bot, "U-JAMIE")[-1]
        assert len(bot.fake.calls_to("views.open")) == opened  # no settings for Jamie

        # The admin gives roles: by command, and in the settings.
        await bot.send(slack.slash_command(ALEX, "role <@U-DANA|dana> viewer"))
        await eventually(lambda: said_to(bot, "U-ALEX"))
        assert "Done: Dana is now a viewer." in said_to(bot, "U-ALEX")[-1]
        gave = await save(bot, ALEX, view["id"], channel="C-HELPDESK", people=["U-CAROL"], role="admin")
        assert gave["response_action"] == "update"
        assert "Carol is now an admin" in card_text({"blocks": gave["view"]["blocks"]})  # Slack's name for her
        assert await roles(bot) == {"U-ALEX", "U-CAROL"}

        # Dana, now a viewer, cannot pick up.
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: said_to(bot, "U-DANA"))
        assert "Your Handoff role is viewer" in said_to(bot, "U-DANA")[-1]


async def test_two_people_racing_to_be_first_admin_make_one_admin(pg_url):
    async with running_bot(pg_url, slack_channel=None) as bot:
        view = await open_settings(bot, ALEX)
        racers = [ALEX, DANA, CAROL, *(Actor(f"U-RACER{i}", f"Racer {i}") for i in range(5))]
        answers = await asyncio.gather(*(save(bot, who, view["id"], channel=f"C-{who.user_id}") for who in racers))
        winners = [who for who, a in zip(racers, answers) if a["response_action"] == "update"]
        assert len(winners) == 1, answers
        assert all("only a Handoff admin" in a["errors"]["channel"] for a in answers if a["response_action"] == "errors")
        assert await roles(bot) == {winners[0].user_id}
        channel = (await bot.handoffs.register_workspace(workspace_key())).escalation_channel
        assert channel == f"C-{winners[0].user_id}"


async def test_the_configured_channel_is_a_default_until_someone_picks_one(sqlite_url):
    async with running_bot(sqlite_url) as bot:  # HANDOFF_SLACK_CHANNEL=C-ESCALATIONS, nobody is admin yet
        first = await bot.escalate(JAMIE)
        assert (await bot.handoffs.load(first.id)).card.channel == "C-ESCALATIONS"
        view = await open_settings(bot, ALEX)
        channel_input = next(b for b in view["blocks"] if b["block_id"] == "channel")
        assert channel_input["element"]["initial_conversation"] == "C-ESCALATIONS"
        answer = await save(bot, ALEX, view["id"], channel="C-SENIORS")
        assert "first Handoff admin" in card_text({"blocks": answer["view"]["blocks"]})
        assert await roles(bot) == {"U-ALEX"}
        second = await bot.escalate(CAROL, summary="Printer driver rollout failed")
        assert (await bot.handoffs.load(second.id)).card.channel == "C-SENIORS"


SLOW_NAMES_S = 6.0


async def test_a_slow_slack_does_not_hold_the_settings_answer_past_3s(sqlite_url):
    async with running_bot(sqlite_url, slack_channel=None) as bot:
        view = await open_settings(bot, ALEX)
        bot.fake.delay("users.info", SLOW_NAMES_S)  # names come from users.info: Slack is slow today
        started = time.monotonic()
        answer = await save(bot, ALEX, view["id"], channel="C-HELPDESK", people=["U-CAROL"], role="engineer")
        # Answered without waiting for Slack's names (the bot waits 1 s for them, then uses the stored ones).
        assert time.monotonic() - started < SLOW_NAMES_S, "the answer waited for users.info"
        assert answer["response_action"] == "update"
        assert "is now an engineer" in card_text({"blocks": answer["view"]["blocks"]})
