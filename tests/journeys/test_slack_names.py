"""A senior renamed in Slack: conflict replies and the PSA pick-up note use the new name once the kept name
has expired (HANDOFF_SLACK_NAME_TTL_S), not before, and never need a restart. The real app, the Slack Web
API stand-in and a PSA fake over HTTP, on PostgreSQL; the cache's clock is moved by hand."""

from __future__ import annotations

import re

from bot.slack.names import ShownNames
from tests.fakes.slack_api import ACME_TEAM
from tests.journeys.slack_bot import CAROL, CHANNEL, DANA, JAMIE, eventually, running_bot
from tests.psa.rigs import TICKET_ID, psa_rig

TTL_S = 120.0


class Seconds:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def dana_lookups(bot) -> int:
    return len([c for c in bot.fake.calls_to("users.info") if c.args.get("user") == DANA.user_id])


async def picked_up_and_contested(bot, rig) -> tuple[str, str]:
    """Jamie escalates, Dana picks up, Carol clicks too: (the PSA's pick-up note, the thread's conflict record)."""
    before = len([n for n in rig.fake.notes(TICKET_ID) if n.startswith("Picked up by")])
    handoff = await bot.escalate(JAMIE, summary="Finance mailbox rejects external mail", ticket=rig.ticket_ref)
    ts = await bot.card_ts(handoff.id)
    assert (await bot.press(DANA, "pickup", handoff.id, ts)).status == 200
    await eventually(lambda: _claimed(bot, handoff.id))
    assert (await bot.press(CAROL, "pickup", handoff.id, ts)).status == 200
    notes = await eventually(lambda: [n for n in rig.fake.notes(TICKET_ID) if n.startswith("Picked up by")][before:],
                             timeout_s=15)
    record = await eventually(lambda: [r["text"] for r in bot.fake.thread(CHANNEL, ts)
                                       if "tried to pick this up too" in r["text"]])
    await bot.listeners_done()
    await bot.settled(timeout_s=20)
    assert len(notes) == 1 and len(record) == 1
    return notes[0], record[0]


async def _claimed(bot, handoff_id) -> bool:
    return (await bot.handoffs.load(handoff_id)).claimed_by is not None


def winner_in(record: str) -> str:
    return re.fullmatch(r"Carol tried to pick this up too: already claimed by (.+), (just now|\d+ s ago)\.",
                        record).group(1)


async def test_a_rename_shows_in_notes_and_conflict_replies_after_the_kept_name_expires(pg_url):
    seconds = Seconds()
    async with psa_rig("connectwise") as rig, running_bot(pg_url, psa_retry_base_s=0.05, slack_name_ttl_s=TTL_S,
                                                          monotonic=seconds, **rig.env) as bot:
        note, record = await picked_up_and_contested(bot, rig)
        assert note.startswith("Picked up by Dana after") and winner_in(record) == "Dana"
        asked = dana_lookups(bot)
        assert asked == 1  # the note, the loser's notice and the thread's record share one answer

        bot.fake.add_user(DANA.user_id, "Dana Kowalski", team_id=ACME_TEAM.id)  # renamed in Slack
        seconds.advance(TTL_S - 1)
        note, record = await picked_up_and_contested(bot, rig)
        assert note.startswith("Picked up by Dana after") and winner_in(record) == "Dana", "kept until it expires"
        assert dana_lookups(bot) == asked

        seconds.advance(1)
        note, record = await picked_up_and_contested(bot, rig)
        assert note.startswith("Picked up by Dana Kowalski after"), note
        assert winner_in(record) == "Dana Kowalski"
        assert dana_lookups(bot) == asked + 1  # asked again once, then kept again
        assert rig.fake.violations == []


async def test_concurrent_askers_share_one_call_and_a_failed_look_up_keeps_the_last_name():
    import asyncio

    seconds, calls, answers = Seconds(), [], {"U1": "Dana"}
    gate = asyncio.Event()

    async def lookup(team: str, user: str) -> str | None:
        calls.append(user)
        await gate.wait()
        return answers.get(user)

    names = ShownNames(lookup, ttl_s=60, clock=seconds)
    waiting = [asyncio.ensure_future(names.get("T", "U1")) for _ in range(5)]
    await eventually(lambda: calls)
    gate.set()
    assert await asyncio.gather(*waiting) == ["Dana"] * 5 and calls == ["U1"]

    answers.clear()  # Slack cannot say any more (an error, a rate limit)
    seconds.advance(60)
    assert await names.get("T", "U1") == "Dana" and calls == ["U1", "U1"]
    assert await names.get("T", "U2") is None
