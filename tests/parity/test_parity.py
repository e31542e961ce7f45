"""One product on two platforms: the same table of steps against Slack and Teams, the same outcomes.

Each step does something people do, through the platform's real HTTP door, and checks what people see:
what they were told privately, what the card shows, what the card's thread says. "The same" means the same
view from cards/messages.py, rendered by that platform's renderer: the words are decided once. Where the
platforms differ by design it is said in the step (a Teams clicker's private answer to Pick Up is the card).
"""

from __future__ import annotations

import re
from datetime import timedelta
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from cards import messages
from cards.view import PersonView, build_card_view
from core.models import Refused
from core.snapshot import FIELD_LIMITS, REQUIRED, TOO_LONG, FieldProblem
from tests.cards.card_lines import when
from tests.journeys.slack_bot import eventually
from tests.parity.drivers import FormError, driver, new_id

HOSTILE = "<!channel> @here <at>everyone</at> \u202eevil\u202c \x00 *bold* <https://evil.example|click>"
SENIORS = [f"Senior {i}" for i in range(10)]


@dataclass
class World:
    d: object  # a SlackDriver or TeamsDriver
    handoff: str = ""
    snoozed: str = ""  # the handoff the snooze step snoozed


Step = Callable[[World], Awaitable[None]]


async def escalate(w: World) -> None:
    w.handoff = await w.d.escalate("Jamie", summary="Finance mailbox rejects external mail")
    assert "Finance mailbox rejects external mail" in w.d.card(w.handoff)
    assert "Pick Up" in w.d.card(w.handoff) or w.d.platform == "teams"


async def self_claim(w: World) -> None:
    await w.d.press("Jamie", "pickup", w.handoff)
    [told] = await w.d.told_now("Jamie", 1)
    assert told == w.d.private(messages.refusal(Refused("own_escalation")))


async def viewer_claim(w: World) -> None:
    await w.d.make("Vic", "viewer")
    await w.d.press("Vic", "pickup", w.handoff)
    [told] = await w.d.told_now("Vic", 1)
    assert told == w.d.private(messages.refusal(Refused("viewer"), admins=[PersonView("U-ADA", "Ada Admin")]))


async def ten_way_race(w: World) -> None:
    await w.d.press_all(SENIORS, "pickup", w.handoff)
    await w.d.settle()
    thread = w.d.thread(w.handoff)
    winner = w.d.name_of((await w.d.state(w.handoff)).claimed_by)
    [checklist] = [t for t in thread if "picked this up. Your checklist:" in t]
    state = await w.d.state(w.handoff)
    expected = messages.checklist(state, owner=state.claimed_by, now=state.claimed_at,
                                  first_reply_counts=w.d.platform == "slack")  # a Teams bot sees @mentions only
    assert checklist == w.d.in_thread(expected), "the winner's checklist, on both platforms"
    losers = [s for s in SENIORS if s != winner]
    records = sorted(t for t in thread if "tried to pick this up too" in t)
    pattern = r"(.+) tried to pick this up too: already claimed by (.+), (just now|\d+ s ago)\."
    assert sorted(re.fullmatch(pattern, r).group(1) for r in records) == sorted(losers), "one record per loser"
    assert {re.fullmatch(pattern, r).group(2) for r in records} == {winner}
    assert f"Picked up by {winner}" in w.d.card(w.handoff)
    await same_lines(w, w.handoff, status=f"✅ Picked up by {winner} · ")
    for loser in losers:  # each loser learns privately, at once, who won
        if w.d.platform == "slack":
            [told] = await w.d.told_now(loser, 1)
            assert told.startswith(f"Already claimed by {winner},")
        else:  # Teams answers the click itself with the claimed card
            assert f"Picked up by **{winner}**" in w.d.answered_card(loser)
    w.winner = winner


async def release_and_resolve(w: World) -> None:
    winner = w.winner
    loser = next(s for s in SENIORS if s != winner)
    before = len(w.d.told(loser))
    await w.d.press(loser, "release", w.handoff)
    told = await w.d.told_now(loser, before + 1)
    assert told[-1].startswith("Only the engineer who picked this up (" + winner + ") can release or resolve it.")
    await w.d.press(winner, "release", w.handoff)
    await w.d.settle()
    await same_lines(w, w.handoff, status="🙋 Waiting for pick-up: the first to press Pick Up owns it")
    await w.d.press("Dana", "pickup", w.handoff)
    await w.d.settle()  # recorded before Slack's ack only within a bound: the resolve must not overtake it
    await w.d.press("Dana", "resolve", w.handoff)
    await w.d.settle()
    await same_lines(w, w.handoff, status="🏁 Resolved by Dana")


async def closed_handoff(w: World) -> None:
    await w.d.press("Carol", "pickup", w.handoff)
    [told] = await w.d.told_now("Carol", 1)
    assert told == w.d.private(messages.refusal(Refused("not_open", await w.d.state(w.handoff))))
    assert told.startswith("This escalation is already resolved, so nothing happened.")


async def name_yourself_as_senior(w: World) -> None:
    with pytest.raises(FormError) as error:
        await w.d.escalate("Jamie", summary="Printer offline", target="Jamie")
    assert str(error.value) == w.d.form_error(messages.target_is_you())


async def form_field_errors(w: World) -> None:
    """A missing required field and an oversized one: nothing is sent, each is named under its own field."""
    limit = FIELD_LIMITS["tried"][1]
    with pytest.raises(FormError) as error:
        await w.d.escalate("Jamie", summary="  ", tried="x" * (limit + 1))
    expected = messages.field_errors({"summary": FieldProblem("summary", REQUIRED),
                                      "tried": FieldProblem("tried", TOO_LONG, limit=limit, length=limit + 1)})
    assert error.value.errors == {name: w.d.form_error(message) for name, message in expected.items()}
    assert error.value.errors == {"summary": "Problem summary is required.",
                                  "tried": "What I've tried is 3,001 characters; the limit is 3,000."}


async def hostile_text(w: World) -> None:
    handoff = await w.d.escalate("Jamie", summary=HOSTILE)
    await w.d.press("Carol", "pickup", handoff)
    await w.d.press("Dana", "pickup", handoff)
    await w.d.settle()
    sent = w.d.everything_sent()
    for bad in ("\u202e", "\\u202e", "\x00", "\\u0000"):
        assert bad not in sent, f"{bad!r} reached {w.d.platform}"
    assert "evil" in w.d.card(handoff), "the text itself is shown"


async def bad_input(w: World) -> None:
    """Malformed or unknown button values, another workspace's handoff, a deleted one: one clear answer."""
    other = await w.d.other_workspace_handoff()
    for value in ("not-a-uuid", "", new_id(), other):
        before = len(w.d.told("Carol"))
        await w.d.press("Carol", "pickup", value)
        told = await w.d.told_now("Carol", before + 1)
        assert told[-1] == w.d.private(messages.not_found()), value
    before = len(w.d.told("Carol"))
    await w.d.press("Carol", "explode", w.handoff)  # a button no version of Handoff has
    told = await w.d.told_now("Carol", before + 1)
    assert told[-1] == w.d.private(messages.button_unsupported())
    recorded = set(await w.d.events_for(other))
    assert not recorded & {"claimed", "conflict", "claim_refused"}, "nothing recorded on the other workspace's handoff"


async def a_person_with_no_name(w: World) -> None:
    handoff = await w.d.escalate("Jamie", summary="VPN drops at 09:00")
    before = len(w.d.told("Dana"))
    await w.d.press("", "pickup", handoff)
    await w.d.press("Dana", "pickup", handoff)
    await w.d.settle()
    [record] = [t for t in w.d.thread(handoff) if "tried to pick this up too" in t]
    assert re.fullmatch(r"Dana tried to pick this up too: already claimed by someone, (just now|\d+ s ago)\.", record)
    if w.d.platform == "slack":
        told = await w.d.told_now("Dana", before + 1)
        assert told[-1].startswith("Already claimed by someone,")


async def snooze(w: World) -> None:
    """Snooze for 30 min from the card's choices: only the author or an admin; anyone else is told privately who can."""
    handoff = await w.d.escalate("Jamie", summary="Backups failed on the file server")
    before = len(w.d.told("Carol"))
    await w.d.press("Carol", "snooze", handoff)
    told = await w.d.told_now("Carol", before + 1)
    state = await w.d.state(handoff)
    refused = messages.refusal(Refused("not_author_or_admin", state), admins=[PersonView("U-ADA", "Ada Admin")])
    assert told[-1] == w.d.private(refused)
    pressed_at = (await w.d.state(handoff)).created_at
    await w.d.press("Jamie", "snooze", handoff, choice="30m")
    await w.d.settle()  # Slack acks the click first and snoozes right after (settle waits for that too)
    until = (await w.d.state(handoff)).snoozed_until
    assert until is not None and timedelta(minutes=30) <= until - pressed_at < timedelta(minutes=31)
    assert "snoozed until" in w.d.card(handoff).lower()
    await same_lines(w, handoff, status="🙋 Waiting for pick-up: the first to press Pick Up owns it · "
                                        f"🔕 reminders snoozed until {when(until)}")
    w.snoozed = handoff
    before = len(w.d.told("Jamie"))
    await w.d.press("Jamie", "snooze", handoff, choice="7m", offered=False)  # a card from before the choices changed
    told = await w.d.told_now("Jamie", before + 1)
    assert told[-1] == w.d.private(messages.refusal(Refused("snooze_choice")))
    assert told[-1].endswith("Choose one on the card as it is now (Snooze 30 min / Snooze 1 h / Snooze 4 h).")
    assert (await w.d.state(handoff)).snoozed_until == until, "nothing changed"


async def snooze_ends(w: World) -> None:
    """At the snooze's end (the service's clock skipped ahead) the card drops it, on both platforms alike."""
    until = (await w.d.state(w.snoozed)).snoozed_until
    await w.d.later(until - w.d.clock() + timedelta(seconds=1),
                    until=lambda: "snoozed" not in w.d.lines(w.snoozed)["status"])
    assert (await w.d.state(w.snoozed)).snoozed_until is None
    await same_lines(w, w.snoozed, status="🙋 Waiting for pick-up: the first to press Pick Up owns it")


async def same_lines(w: World, handoff: str, *, status: str) -> None:
    """The card's status and assessment lines read exactly as the view model words them for the handoff's current
    state (so the same on both platforms; waits for the card to catch up with the state); the status line says
    `status` (all of it, or, ending in a space, how it starts)."""
    seen: list[tuple[dict, dict]] = []

    async def as_worded() -> dict[str, str] | None:
        view = build_card_view(await w.d.state(handoff), now=w.d.clock())
        shown = w.d.lines(handoff)
        expected = {"status": w.d.expected_line(view.status_line), "assessment": w.d.expected_line(view.assessment.heading)}
        seen.append(({k: shown.get(k) for k in expected}, expected))
        return shown if seen[-1][0] == expected else None
    try:
        shown = await eventually(as_worded)
    except AssertionError:
        assert seen[-1][0] == seen[-1][1], "the card's lines, as worded by the view model"
        raise
    assert shown["status"].startswith(status) if status.endswith(" ") else shown["status"] == status


STEPS: list[tuple[str, Step]] = [
    ("escalate", escalate),
    ("self-claim", self_claim),
    ("viewer claim", viewer_claim),
    ("10-way race", ten_way_race),
    ("release, resolve", release_and_resolve),
    ("closed handoff", closed_handoff),
    ("name yourself as senior", name_yourself_as_senior),
    ("form: a missing and an oversized field", form_field_errors),
    ("hostile and control-character text", hostile_text),
    ("bad input", bad_input),
    ("a person with no name", a_person_with_no_name),
    ("snooze", snooze),
    ("the snooze ends", snooze_ends),  # last: the service's clock is ahead of real time from here on
]


@pytest.mark.parametrize("platform", ["slack", "teams"])
async def test_the_same_steps_have_the_same_outcomes(platform, pg_db, pg_url):
    async with driver(platform, pg_db, pg_url) as d:
        world = World(d)
        for name, step in STEPS:
            try:
                await step(world)
            except AssertionError as error:
                raise AssertionError(f"{platform}: step {name!r}: {error}") from error
