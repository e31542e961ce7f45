"""One person, one row on Teams: the senior picked in the dialog (an Entra object id) and the same senior
clicking Pick Up (a `29:` id carrying aadObjectId) are the same person."""

from __future__ import annotations

import uuid

from tests.journeys.test_teams_escalation import verbs
from tests.teams.harness import (
    ACME_TEAMS,
    card_action,
    open_dialog,
    posted_card,
    say,
    submit,
    teams_bot,
    teams_user,
    use_this_channel,
)


async def test_the_senior_named_in_the_dialog_is_the_one_who_picks_it_up(db):
    jamie, dana = teams_user("Jamie"), teams_user("Dana")
    async with teams_bot(db) as bot:
        url = bot.fake.service_url
        await use_this_channel(bot, teams_user("Alex Admin"))
        await bot.send(submit(jamie, url, await open_dialog(bot, jamie), target=dana["aadObjectId"]))
        await bot.drain()
        conversation, activity_id, card = posted_card(bot)
        handoff_id = card["actions"][0]["data"]["handoff_id"]

        status, body = await bot.send(card_action("pickup", handoff_id, sender=dana, service_url=url,
                                                  conversation_id=conversation))
        assert status == 200 and verbs(body["value"]) == ["release", "resolve"], "Dana sees the owner's card"
        await bot.drain()

        state = await bot.handoffs.get(workspace=ACME_TEAMS, handoff_id=uuid.UUID(handoff_id))
        assert state.target.id == state.claimed_by.id, "the targeted senior's claim is the target's own"
        assert state.claimed_by.display_name == "Dana" and state.claimed_by.chat_id == dana["id"]
        # Her mention renders: by name, addressed to her 29: id; the owner-only refresh names that id too.
        [checklist] = [c for c in bot.fake.of_kind("reply") if "Your checklist" in c.body.get("text", "")]
        assert checklist.body["text"].startswith("<at>Dana</at> picked this up.")
        assert checklist.body["entities"] == [{"type": "mention", "text": "<at>Dana</at>",
                                               "mentioned": {"id": dana["id"], "name": "Dana"}}]
        assert bot.fake.card_of(activity_id)["refresh"]["userIds"] == [dana["id"]]


async def test_a_role_given_by_mention_applies_to_the_persons_clicks(db):
    """A mention carries only the 29: id; the bot looks up the object id, so the viewer role sticks."""
    alex, vic, jamie = teams_user("Alex Admin"), teams_user("Vic Viewer"), teams_user("Jamie")
    async with teams_bot(db) as bot:
        url = bot.fake.service_url
        await use_this_channel(bot, alex)
        assert await say(bot, "make @Vic Viewer viewer", sender=alex, mentions=[vic]) == "Done: Vic Viewer is now a viewer."
        assert [c.body["member"] for c in bot.fake.of_kind("member")] == [vic["id"]]
        await bot.send(submit(jamie, url, await open_dialog(bot, jamie)))
        await bot.drain()
        conversation, _, card = posted_card(bot)
        status, body = await bot.send(card_action("pickup", card["actions"][0]["data"]["handoff_id"], sender=vic,
                                                  service_url=url, conversation_id=conversation))
        assert body["type"] == "application/vnd.microsoft.activity.message" and "role is viewer" in body["value"]
