"""The assessment deadline on Slack (PostgreSQL, HANDOFF_AI_DEADLINE_S=1, the real SDK against the fake API):
a model that never answers leaves the labelled fallback on the card within the deadline, the job still
trying; an answer that comes later replaces the fallback and the card says when."""

from __future__ import annotations

import time

from tests.fakes.anthropic import FakeAnthropic, assessment, hang
from tests.journeys.slack_bot import ASSESSMENT, JAMIE, card_text, eventually, running_bot

FALLBACK = "Assessment (fallback, not from the model)"


async def test_a_model_that_never_answers_leaves_the_labelled_fallback_within_the_deadline(pg_url):
    claude = FakeAnthropic(default=hang())
    async with running_bot(pg_url, claude=claude, ai_deadline_s=1) as bot:
        handoff = await bot.escalate(JAMIE)
        escalated = time.monotonic()
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: FALLBACK in card_text(bot.card(ts)))
        waited = time.monotonic() - escalated
        text = card_text(bot.card(ts))
        assert "the model has not answered after 1 s" in text and "Assessing…" not in text
        # Well before the SDK gives up (10 s here), with room for a loaded machine: the deadline put it there.
        assert waited < 8, f"the fallback took {waited:.1f}s with a 1 s deadline"
        state = await bot.handoffs.load(handoff.id)
        assert state.assessment_state == "interim"  # the assess job is still trying
        assert claude.requests, "the model was asked"


async def test_a_late_answer_replaces_the_fallback_and_the_card_says_when(pg_url):
    claude = FakeAnthropic(default=assessment(ASSESSMENT))
    claude.gate.clear()  # the answer is held back past the deadline
    async with running_bot(pg_url, claude=claude, ai_deadline_s=1) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: FALLBACK in card_text(bot.card(ts)))
        claude.gate.set()
        await eventually(lambda: "Renew it and re-test" in card_text(bot.card(ts)))
        text = card_text(bot.card(ts))
        assert FALLBACK not in text and "the model's assessment replaced the fallback" in text
        assert (await bot.handoffs.load(handoff.id)).assessment_state == "ready"
        await bot.settled()
