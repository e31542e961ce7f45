"""Teams admin journeys: who may move the escalation channel and give roles, and what everyone else is told."""

from __future__ import annotations

from tests.teams.harness import (
    ACME_TEAMS,
    CHANNEL,
    card_action,
    open_dialog,
    posted_card,
    say,
    submit,
    teams_bot,
    teams_user,
    use_this_channel,
)

OTHER_CHANNEL = "19:other-escalations@thread.tacv2"


async def channel_of(bot) -> str | None:
    return (await bot.handoffs.register_workspace(ACME_TEAMS)).escalation_channel


async def test_the_first_to_set_the_channel_becomes_admin_and_only_admins_can_move_it(db):
    alex, carol = teams_user("Alex Admin"), teams_user("Carol")
    async with teams_bot(db) as bot:
        answer = await use_this_channel(bot, alex)
        assert "escalation cards will be posted in this channel" in answer and "first Handoff admin" in answer
        assert [a.display_name for a in await bot.handoffs.admins(workspace=ACME_TEAMS)] == ["Alex Admin"]

        answer = await use_this_channel(bot, carol, channel=OTHER_CHANNEL)
        assert answer.startswith("Nothing changed: only a Handoff admin can move the escalation channel")
        assert "Alex Admin" in answer and "make you an admin" in answer, "says who can, and how to become one"
        assert await channel_of(bot) == CHANNEL
        assert [a.display_name for a in await bot.handoffs.admins(workspace=ACME_TEAMS)] == ["Alex Admin"]

        answer = await use_this_channel(bot, alex, channel=OTHER_CHANNEL)
        assert answer == "Done: escalation cards will be posted in this channel."
        assert await channel_of(bot) == OTHER_CHANNEL


async def test_a_channel_from_the_environment_is_no_dead_end(db):
    """Nobody is an admin yet, so the first person to choose a channel in Teams becomes one."""
    carol = teams_user("Carol")
    async with teams_bot(db) as bot:
        bot.services.settings.teams_channel_id = "19:from-env@thread.tacv2"
        bot.services.settings.teams_service_url = bot.fake.service_url
        await bot.send(submit(teams_user("Jamie"), bot.fake.service_url, "dialog-env"))
        assert await channel_of(bot) == "19:from-env@thread.tacv2"
        assert "first Handoff admin" in await use_this_channel(bot, carol)
        assert await channel_of(bot) == CHANNEL


async def test_admins_give_roles_and_a_viewer_is_told_whom_to_ask(db):
    alex, carol, jamie = teams_user("Alex Admin"), teams_user("Carol"), teams_user("Jamie")
    async with teams_bot(db) as bot:
        url = bot.fake.service_url
        await use_this_channel(bot, alex)

        answer = await say(bot, "make @Carol viewer", sender=jamie, mentions=[carol])
        assert answer == "Nothing changed: only a Handoff admin can give roles. Ask a Handoff admin (Alex Admin)."
        answer = await say(bot, "make viewer", sender=alex)
        assert answer.startswith("Nothing changed. To give someone a role") and "@mention" in answer
        assert await say(bot, "make @Carol viewer", sender=alex, mentions=[carol]) == "Done: Carol is now a viewer."

        await bot.send(submit(jamie, url, await open_dialog(bot, jamie)))
        await bot.drain()
        conversation, _, card = posted_card(bot)
        handoff_id = card["actions"][0]["data"]["handoff_id"]
        status, body = await bot.send(card_action("pickup", handoff_id, sender=carol, service_url=url,
                                                  conversation_id=conversation))
        assert status == 200 and "Ask a Handoff admin (Alex Admin) for the engineer role." in body["value"]

        assert await say(bot, "make @Carol engineer", sender=alex, mentions=[carol]) == "Done: Carol is now an engineer."
        status, body = await bot.send(card_action("pickup", handoff_id, sender=carol, service_url=url,
                                                  conversation_id=conversation))
        assert "Picked up by **Carol**" in str(body["value"])


async def test_setting_the_channel_from_a_chat_says_where_to_do_it(db):
    async with teams_bot(db) as bot:
        answer = await say(bot, "use this channel", sender=teams_user("Alex Admin"), channel=None)
        assert answer.startswith("Nothing changed") and "team channel" in answer
        assert await channel_of(bot) is None
        assert await bot.handoffs.admins(workspace=ACME_TEAMS) == []
