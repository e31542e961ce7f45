"""Reminders on Slack with HANDOFF_REMINDERS=2s,4s (PostgreSQL, real time, the real worker): thread
nudges in order, the named senior and the admins told, the card marked overdue; a claim stops them."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from db.tables import utcnow

from tests.journeys.slack_bot import CAROL, CHANNEL, DANA, JAMIE, card_text, eventually, running_bot, slack_person, workspace

SCHEDULE = {"reminders": "2s,4s"}


def nudges(bot, ts):
    return [m["text"] for m in bot.fake.thread(CHANNEL, ts) if "Still waiting for pick-up" in m["text"]]


async def test_two_nudges_in_order_then_admins_once_and_the_card_says_overdue(pg_url):
    async with running_bot(pg_url, **SCHEDULE) as bot:
        await bot.handoffs.bootstrap_admin(workspace=workspace(), person=slack_person(CAROL))
        handoff = await bot.escalate(JAMIE, summary="Exchange queue stuck", target="U-DANA")
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: len(nudges(bot, ts)) == 2)
        first, second = nudges(bot, ts)
        assert "Reminder 1 of 2" in first and "Reminder 2 of 2" in second
        assert "<!channel>" not in first + second and "<!here>" not in first + second
        thread = [m for m in bot.fake.thread(CHANNEL, ts) if "Still waiting" in m["text"]]
        assert all(any(e.get("action_id") == "handoff_snooze" for b in m.get("blocks", []) if b["type"] == "actions"
                       for e in b["elements"]) for m in thread), "each nudge offers Snooze"
        await eventually(lambda: "Overdue" in card_text(bot.card(ts)))
        await bot.settled()
        admin = [m for m in bot.fake.dms_to("U-CAROL") if "Overdue" in m["text"]]
        senior = [m for m in bot.fake.dms_to("U-DANA") if "still waiting for pick-up" in m["text"]]
        assert len(admin) == 1 and len(senior) == 2
        late = re.search(r"Overdue\* · unclaimed for (\d+) s", card_text(bot.card(ts)))
        assert late and int(late.group(1)) >= 4, card_text(bot.card(ts))  # 4 s, or later on a loaded machine


async def test_a_claim_between_nudges_stops_the_rest(pg_url):
    # The second step comes 8 s after the first: room for the click to land between them on a loaded machine.
    async with running_bot(pg_url, reminders="2s,10s") as bot:
        handoff = await bot.escalate(JAMIE, summary="Citrix sessions freeze")
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: len(nudges(bot, ts)) >= 1)
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: "Picked up by" in card_text(bot.card(ts)))
        assert len(nudges(bot, ts)) == 1, "the click came after the second step: the test proves nothing"
        second_due = (await bot.handoffs.load(handoff.id)).created_at + timedelta(seconds=10)
        await asyncio.sleep(max(0.0, (second_due - utcnow()).total_seconds()) + 0.5)  # past the second step's due time
        await bot.settled()  # a step that was still due would run now (settled waits for due timers)
        assert len(nudges(bot, ts)) == 1
        assert "Overdue" not in card_text(bot.card(ts))
