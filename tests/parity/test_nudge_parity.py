"""The reminder nudge's buttons, the same on Slack and Teams: the nudge in the card's thread offers the card's
Pick Up and Snooze (30 min, 1 h, 4 h), and pressing them there does what the card's buttons do, with the same
words. Where the platforms differ by design it is said in the step: Slack leaves the nudge and tells the
clicker privately under it; Teams answers the click in the nudge's place (for the clicker only), and Pick Up's
winner is shown who has it there, where Slack says nothing privately (the card and the checklist say it).

The service's clock skips ahead (the first reminder of the default schedule comes due; Driver.later) and the
jobs due on it run through the real outbox; every wait is for a condition."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cards import messages, reminder_messages
from cards.view import PersonView
from core.models import Refused
from tests.parity.drivers import driver

BUTTONS = ["Pick Up", "Snooze 30 min", "Snooze 1 h", "Snooze 4 h"]


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_the_nudges_buttons_do_what_the_cards_do(platform, pg_db, pg_url):
    async with driver(platform, pg_db, pg_url) as d:
        try:
            await _the_nudge_journey(d)
        except AssertionError as error:
            raise AssertionError(f"{platform}: {error}") from error


async def _the_nudge_journey(d) -> None:
    await d.make("Carol", "engineer")  # and Ada the workspace's admin
    handoff = await d.escalate("Jamie", summary="File server backups failing")
    await d.later(timedelta(minutes=11), until=lambda: d.nudge_of(handoff) is not None)  # past the first reminder
    state = await d.state(handoff)
    [nudged] = [e["data"] for e in await d.bot.handoffs.events(state.id) if e["kind"] == "nudged"]
    nudge = reminder_messages.nudge(state, step=1, of=3, waited_s=nudged["waited_s"])
    assert [t for t in d.thread(handoff) if "Still waiting" in t] == [d.in_thread(nudge)], "the nudge's words"
    assert d.nudge_buttons(handoff) == [(label, handoff) for label in BUTTONS], "the card's Pick Up and Snooze"

    # Snooze from the nudge: only the author or an admin; anyone else is told privately who can.
    before = len(d.told("Carol"))
    await d.press_nudge("Carol", "snooze", handoff, choice="30m")
    refused = messages.refusal(Refused("not_author_or_admin", state), admins=[PersonView("U-ADA", "Ada Admin")])
    assert await d.said_after("Carol", before) == d.private(refused)
    assert (await d.state(handoff)).snoozed_until is None

    before = len(d.told("Jamie"))
    pressed_at = d.clock()
    await d.press_nudge("Jamie", "snooze", handoff, choice="30m")
    said = await d.said_after("Jamie", before)  # Slack says it once the snooze is stored
    until = (await d.state(handoff)).snoozed_until
    assert until is not None and timedelta(minutes=30) <= until - pressed_at < timedelta(minutes=31)
    assert said.startswith(f"🔕 Reminders for this escalation are snoozed until {until:%H:%M} UTC."), said
    await d.later(timedelta(0), until=lambda: "snoozed until" in d.card(handoff).lower())

    # Pick Up from the nudge claims (the card shows the owner); the next senior is told who has it.
    await d.press_nudge("Dana", "pickup", handoff)
    await d.later(timedelta(0), until=lambda: "Picked up by Dana" in d.card(handoff))
    if d.platform == "teams":  # the answer takes the nudge's place for Dana
        assert re.fullmatch(r"✅ Picked up by Dana, (just now|\d+ s ago)\.", await d.said_after("Dana", 0))
    before = len(d.told("Carol"))
    await d.press_nudge("Carol", "pickup", handoff)
    said = await d.said_after("Carol", before)
    assert said.startswith("Already claimed by Dana,"), said
    assert (await d.state(handoff)).claimed_by.external_id == d.key("Dana").external_id
    await d.later(timedelta(0), until=lambda: any("Carol tried to pick this up too" in t for t in d.thread(handoff)))
    assert not [e for e in await d.events_for(handoff) if e.startswith("card_duplicate")], "nothing retired"
