"""Twenty-five seniors press Pick Up at once (PostgreSQL): one owner; every loser told privately at once
who won, and the thread keeps one public record per loser."""

import asyncio
import re

from standins.slack.requests import Actor
from tests.journeys.slack_bot import ANSWER_BOUND_S, CHANNEL, JAMIE, buttons, card_text, eventually, running_bot


async def test_twenty_five_seniors_one_winner_and_24_replies(pg_url):
    seniors = [Actor(f"U-SENIOR-{i:02d}", f"Senior {i:02d}") for i in range(25)]
    async with running_bot(pg_url, worker_concurrency=4) as bot:
        for s in seniors:
            bot.fake.add_user(s.user_id, s.name, team_id="T-ACME")
        handoff = await bot.escalate(JAMIE, summary="VPN concentrator drops every tunnel at 09:00")
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: "Check the inbound connector" in card_text(bot.card(ts)))

        answers = await asyncio.gather(*(bot.press(s, "pickup", handoff.id, ts) for s in seniors))
        assert all(a.status == 200 for a in answers)
        assert max(a.elapsed_s for a in answers) < ANSWER_BOUND_S  # each claim waits at most 1.5 s to be recorded

        state = await eventually(lambda: _claimed(bot, handoff.id))
        winner = state.claimed_by
        winner_name = next(s.name for s in seniors if s.user_id == winner.external_id)
        losers = [s for s in seniors if s.user_id != winner.external_id]
        # Each loser is told privately, through their click's response_url, who won.
        await eventually(lambda: all(bot.fake.ephemerals_for(s.user_id) for s in losers))
        for loser in losers:
            [notice] = bot.fake.ephemerals_for(loser.user_id)
            assert notice["via"] == "response_url"
            assert re.fullmatch(rf"Already claimed by {winner_name}, (just now|\d+ s ago)\.", notice["text"]), notice
        assert not bot.fake.ephemerals_for(winner.external_id)

        await bot.settled()
        replies = bot.fake.thread(CHANNEL, ts)
        conflicts = [r for r in replies if "already claimed by" in r["text"]]
        assert len(conflicts) == 24
        named = {re.fullmatch(r"(.+) tried to pick this up too: already claimed by (.+), (just now|\d+ s ago)\.",
                              r["text"]).group(1, 2) for r in conflicts}
        assert {loser for loser, _ in named} == {s.name for s in losers}
        assert {name for _, name in named} == {winner_name}
        assert len([r for r in replies if "picked this up" in r["text"]]) == 1

        card = bot.card(ts)
        assert f"Picked up by <@{winner.external_id}>" in card_text(card)
        assert "Renew it and re-test" in card_text(card)  # the assessment is still on it
        assert buttons(card) == ["handoff_release", "handoff_resolve"]
        assert len(bot.fake.channel(CHANNEL)) == 1

        # Losers clicking again (and Slack retrying) add nothing.
        again = await asyncio.gather(*(bot.press(s, "pickup", handoff.id, ts, retry_num=1) for s in seniors[:5]))
        assert all(a.status == 200 for a in again)
        await bot.listeners_done()
        await bot.settled()
        assert len(bot.fake.thread(CHANNEL, ts)) == 25


async def _claimed(bot, handoff_id):
    state = await bot.handoffs.load(handoff_id)
    return state if state.claimed_by is not None else None


async def test_a_loser_is_told_once_however_often_the_click_arrives(pg_url):
    """The same signed click delivered twice (Slack's retry of a late ack, at once and later) and the same
    loser clicking twice more: one private notice, one record in the thread (PostgreSQL)."""
    from standins.slack import requests as slack

    carol, dana = Actor("U-CAROL", "Carol"), Actor("U-DANA", "Dana")
    async with running_bot(pg_url) as bot:
        for person in (carol, dana):
            bot.fake.add_user(person.user_id, person.name, team_id="T-ACME")
        handoff = await bot.escalate(JAMIE, summary="Print server spooler crashes hourly")
        ts = await bot.card_ts(handoff.id)
        await bot.press(dana, "pickup", handoff.id, ts)
        await eventually(lambda: _claimed(bot, handoff.id))
        click = slack.block_action(carol, action_id="handoff_pickup", value=str(handoff.id), message_ts=ts,
                                   response_url=bot.fake.response_url(user=carol.user_id, channel=CHANNEL))
        answers = await asyncio.gather(bot.send(click), bot.send(click, retry_num=1))
        answers += [await bot.send(click, retry_num=2)]
        answers += await asyncio.gather(*(bot.press(carol, "pickup", handoff.id, ts) for _ in range(2)))
        assert all(a.status == 200 for a in answers)
        await bot.listeners_done()  # every click has said whatever it was going to say
        await bot.settled()
        [notice] = bot.fake.ephemerals_for(carol.user_id)
        assert re.fullmatch(r"Already claimed by Dana, (just now|\d+ s ago)\.", notice["text"]), notice
        records = [r for r in bot.fake.thread(CHANNEL, ts) if "tried to pick this up too" in r["text"]]
        assert [r["text"].split(" tried")[0] for r in records] == ["Carol"]
