"""A graceful stop waits for what Slack listeners still do after their ack (tracked by bot/inflight.py)."""

from __future__ import annotations

import time

from bot.server import graceful_stop
from tests.journeys.slack_bot import ANSWER_BOUND_S, JAMIE, running_bot

# The private answer after the ack takes this long to arrive: as long as the longest an answer to a click may
# take (SlackBot.send checks it), so it cannot have arrived by the time the click's answer has.
SLOW_S = ANSWER_BOUND_S


async def test_the_stop_waits_for_a_listener_still_working_after_its_ack(pg_url):
    async with running_bot(pg_url) as bot:
        handoff = await bot.escalate(JAMIE, summary="Backups failed on the file server")
        ts = await bot.card_ts(handoff.id)
        bot.fake.delay("response_url", SLOW_S)  # the private answer after the ack is slow to arrive
        answer = await bot.press(JAMIE, "pickup", handoff.id, ts)  # their own: refused, told privately
        assert answer.status == 200
        assert not bot.fake.ephemerals_for("U-JAMIE"), "told before the slow answer could have arrived"
        assert bot.services.inflight.tasks(), "the listener's work after its ack is tracked"

        started = time.monotonic()
        await graceful_stop(bot.app, budget_s=SLOW_S + 30)
        assert time.monotonic() - started < SLOW_S + 15, "the stop waited out its budget, not the listener"
        [told] = bot.fake.ephemerals_for("U-JAMIE")  # delivered before the stop returned, not cut off
        assert told["text"].startswith("You escalated this one yourself"), told
        assert not bot.services.inflight.tasks()
