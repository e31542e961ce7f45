"""The card converges on the handoff's latest state whatever order things land in, and through 429s."""

import asyncio
import time

from tests.fakes.anthropic import FakeAnthropic, assessment
from tests.journeys.slack_bot import (
    ASSESSMENT, CHANNEL, DANA, JAMIE, buttons, card_text, eventually, running_bot,
)


async def test_assessment_after_the_claim_keeps_the_claim_on_the_card(pg_url):
    # PostgreSQL: a held-back assessment occupies one worker loop while others edit the card.
    claude = FakeAnthropic(default=assessment(ASSESSMENT))
    claude.gate.clear()
    async with running_bot(pg_url, claude=claude) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        assert "Assessing…" in card_text(bot.card(ts))
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: "Picked up by <@U-DANA>" in card_text(bot.card(ts)))
        assert "Assessing…" in card_text(bot.card(ts))
        claude.gate.set()
        await eventually(lambda: "Renew it and re-test" in card_text(bot.card(ts)))
        card = bot.card(ts)
        assert "Picked up by <@U-DANA>" in card_text(card) and buttons(card) == ["handoff_release", "handoff_resolve"]
        # The checklist waited for the assessment's steps.
        await bot.settled()
        [checklist] = bot.fake.thread(CHANNEL, ts)
        assert "☐ Renew it and re-test with an external sender" in card_text(checklist)


async def test_claim_while_the_assessment_edit_is_in_flight_ends_with_both(sqlite_url):
    claude = FakeAnthropic(default=assessment(ASSESSMENT))
    claude.gate.clear()  # the card is posted first, so the assessment arrives as an edit
    async with running_bot(sqlite_url, claude=claude) as bot:
        bot.fake.delay("chat.update", 0.6)  # the assessment's edit is slow to land
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        claude.gate.set()
        await eventually(lambda: bot.fake.calls_to("chat.update", ok_only=False))  # the edit is in flight
        await bot.press(DANA, "pickup", handoff.id, ts)
        await bot.settled()
        card = card_text(bot.card(ts))
        assert "Renew it and re-test" in card and "Picked up by <@U-DANA>" in card
        state = await bot.handoffs.load(handoff.id)
        assert state.card.rendered_version == state.version


async def test_429_on_chat_update_is_retried_later_and_the_card_converges(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: "Renew it and re-test" in card_text(bot.card(ts)))
        bot.fake.fail("chat.update", status=429, retry_after=2)
        answer = await bot.press(DANA, "pickup", handoff.id, ts)
        answered_at = time.monotonic()
        assert answer.status == 200
        await eventually(lambda: len(bot.fake.calls_to("chat.update", ok_only=False)) >= 2)
        rejected = [c for c in bot.fake.calls if c.method == "chat.update" and c.status == 429][0]
        await eventually(lambda: "Picked up by <@U-DANA>" in card_text(bot.card(ts)))
        retried = [c for c in bot.fake.calls_to("chat.update") if c.at > rejected.at][0]
        assert retried.at - rejected.at >= 1.9  # Retry-After honoured
        # The click's answer never waits on Slack's rate limit: it came before the held-back edit went out
        # (an order of events, not a stopwatch, so a loaded machine cannot fail it).
        assert answered_at < retried.at
        jobs = [e["kind"] for e in await bot.handoffs.events(handoff.id)]
        assert "delivery_failed" not in jobs


async def test_short_retry_after_is_waited_out_in_place(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: "Renew it and re-test" in card_text(bot.card(ts)))
        bot.fake.fail("chat.update", status=429, retry_after=0)
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: "Picked up by <@U-DANA>" in card_text(bot.card(ts)))
        assert [c.status for c in bot.fake.calls if c.method == "chat.update"][-2:] == [429, 200]


async def test_posts_to_one_channel_are_paced_one_per_second(sqlite_url):
    from standins.slack.requests import Actor
    seniors = [Actor(f"U-S{i}", f"S{i}") for i in range(3)]
    async with running_bot(sqlite_url, post_interval_s=1.0, post_burst=1) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: "Picked up" in card_text(bot.card(ts)))
        await asyncio.gather(*(bot.press(s, "pickup", handoff.id, ts) for s in seniors))
        await eventually(lambda: len(bot.fake.thread(CHANNEL, ts)) == 4)
        posts = sorted(c.at for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL)
        gaps = [b - a for a, b in zip(posts, posts[1:])]
        assert len(posts) == 5 and min(gaps) >= 0.95, gaps
