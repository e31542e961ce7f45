"""Teams delivery under faults: connector calls time out instead of hanging; a 429 spends no try."""

from core import jobs as job_kinds
from core.delivery import Deliveries
from core.models import PersonKey
from db import outbox
from tests.factories import snapshot
from tests.teams.harness import ACME_TEAMS, card_action, key, posted_card, teams_bot, teams_user, use_this_channel


async def card_jobs(bot):
    async with bot.services.database.transaction() as conn:
        return await outbox.list_jobs(conn, kind=job_kinds.CARD_SYNC)


async def test_a_stalled_connector_call_times_out_and_the_retry_posts_the_card(db):
    async with teams_bot(db) as bot:
        await use_this_channel(bot, teams_user("Alex Admin"))
        bot.services.ports["teams"].timeout_s = 1.0
        bot.fake.hang_next("create", seconds=4)
        await bot.handoffs.escalate(workspace=ACME_TEAMS, author=PersonKey("29:jamie", "Jamie"), snapshot=snapshot())
        await bot.drain()
        [create] = bot.fake.of_kind("create")
        posted_card(bot)
        [job] = await card_jobs(bot)
        assert job["state"] == "done" and job["attempts"] >= 2  # the stalled try gave up; a later one posted
        assert "did not answer within 1s" in job["last_error"]


async def test_a_throttled_card_post_is_retried_without_spending_a_try(db):
    async with teams_bot(db) as bot:
        await use_this_channel(bot, teams_user("Alex Admin"))
        bot.fake.fail_next("create", 429, times=3, retry_after=0.05)
        await bot.handoffs.escalate(workspace=ACME_TEAMS, author=PersonKey("29:jamie", "Jamie"), snapshot=snapshot())
        await bot.drain()
        assert len(bot.fake.of_kind("create")) == 1
        [job] = await card_jobs(bot)
        assert (job["state"], job["attempts"]) == ("done", 1)


async def test_a_card_posted_twice_becomes_duplicate_of_the_live_one(db):
    async with teams_bot(db) as bot:
        await use_this_channel(bot, teams_user("Alex Admin"))
        await bot.handoffs.escalate(workspace=ACME_TEAMS, author=PersonKey("29:jamie", "Jamie"), snapshot=snapshot())
        [handoff] = await bot.handoffs.queue(workspace=ACME_TEAMS, viewer=PersonKey("29:someone-else"))
        stale = await bot.handoffs.load(handoff.id)  # read by a worker whose lease then ran out mid-post
        await bot.drain()
        live = (await bot.handoffs.load(handoff.id)).card.message_ref
        # That worker's post lands after the first try recorded its card: the connector now shows two.
        deliveries = Deliveries(bot.handoffs, bot.services.ports, pacer=bot.services.pacer)
        assert await deliveries._post_card(stale) is False
        await bot.drain()
        [first, second] = [activity for _conversation, activity in bot.fake.created]
        assert first == live and (await bot.handoffs.load(handoff.id)).card.message_ref == live
        copy = bot.fake.messages[second]
        assert copy["text"].startswith("Duplicate of the escalation card for ") and not copy.get("attachments")
        assert bot.fake.card_of(live)["actions"]  # the live card keeps its Pick Up
        kinds = [e["kind"] for e in await bot.handoffs.events(handoff.id)]
        assert kinds.count("card_posted") == 1 and "card_duplicate_retired" in kinds


async def test_a_copy_posted_after_a_lost_answer_is_retired_when_anyone_acts_on_it(db):
    """The connector posts the card but its answer is lost; the retry posts it again (the connector cannot
    be searched). The first click (or card refresh) on the unrecorded copy turns it into "duplicate of …"."""
    async with teams_bot(db) as bot:
        await use_this_channel(bot, teams_user("Alex Admin"))
        bot.fake.drop_next("create")
        await bot.handoffs.escalate(workspace=ACME_TEAMS, author=PersonKey("29:jamie", "Jamie"), snapshot=snapshot())
        await bot.drain()
        [(copy_conversation, copy), (_, live)] = bot.fake.created  # both live cards, as Teams shows them
        [handoff] = await bot.handoffs.queue(workspace=ACME_TEAMS, viewer=PersonKey("29:someone-else"))
        assert (await bot.handoffs.load(handoff.id)).card.message_ref == live
        assert bot.fake.card_of(copy)["actions"], "before anyone acts on it, the copy has its Pick Up"

        dana = teams_user("Dana")
        status, answer = await bot.send(card_action("pickup", str(handoff.id), sender=dana,
                                                    service_url=bot.fake.service_url,
                                                    conversation_id=copy_conversation, message_id=copy))
        assert status == 200
        shown = answer["value"]  # Teams puts the answer's card in the copy's place
        assert shown["body"][0]["text"].startswith("Duplicate of the escalation card for ") and "actions" not in shown
        await bot.drain()
        retired = bot.fake.messages[copy]
        assert retired["text"].startswith("Duplicate of the escalation card for ") and not retired.get("attachments")
        state = await bot.handoffs.load(handoff.id)
        assert state.claimed_by.external_id == key(dana).external_id, "the click itself still counts"
        assert "Picked up by" in str(bot.fake.card_of(live)), "the live card shows the click"
        kinds = [e["kind"] for e in await bot.handoffs.events(handoff.id)]
        assert kinds.count("card_duplicate_found") == 1 and kinds.count("card_duplicate_retired") == 1

        # Acting on the live card, or on a message in its thread, is not mistaken for a copy.
        live_thread = f"{copy_conversation.split(';')[0]};messageid={live}"
        for message_id in (live, "1700000000999"):
            status, answer = await bot.send(card_action("refresh", str(handoff.id), sender=dana,
                                                        service_url=bot.fake.service_url,
                                                        conversation_id=live_thread, message_id=message_id))
            assert status == 200 and answer["value"]["actions"], message_id
        assert [e["kind"] for e in await bot.handoffs.events(handoff.id)].count("card_duplicate_found") == 1
