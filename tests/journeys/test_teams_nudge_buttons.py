"""The reminder nudge's buttons on Teams: the nudge in the card's thread is an Adaptive Card with the card's
own Pick Up and Snooze (Action.Execute), and pressing them does what the card's do. PostgreSQL, real
JWT-signed activities into the bot, the Bot Framework stand-in recording what was posted, the service's
clock moved by hand and the real worker over the real outbox."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from cards.teams_messages import MESSAGE_FIELD
from core import jobs as job_kinds
from core.handoffs import Handoffs
from core.schedule import ReminderPolicy, parse_schedule
from core.worker import Worker
from db import outbox
from tests.core.test_reminders import T0, Clock
from tests.fakes.port import run_due
from tests.journeys.test_teams_reminders import ALEX, DANA, JAMIE, card_texts, escalated, settle, thread_texts
from tests.teams.harness import (
    ACME_TEAMS,
    card_action,
    key,
    open_dialog,
    submit,
    teams_bot,
    teams_user,
    use_this_channel,
)

CAROL = teams_user("Carol")
NUDGE = "reminder.nudge"


def nudges(bot) -> list[tuple[str, dict]]:
    """(activity id, card) of every nudge posted, as the connector shows it now."""
    found = []
    for activity_id, body in bot.fake.messages.items():
        for attachment in body.get("attachments") or []:
            actions = attachment["content"].get("actions") or []
            if any(a.get("data", {}).get(MESSAGE_FIELD) == NUDGE for a in actions):
                found.append((activity_id, attachment["content"]))
    return found


def action_of(card: dict, verb: str, choice: str | None = None) -> dict:
    [action] = [a for a in card["actions"] if a["verb"] == verb and a["data"].get("choice") == choice]
    return action


async def press_nudge(bot, nudge: tuple[str, dict], conversation: str, verb: str, sender: dict,
                      choice: str | None = None) -> dict:
    """A press of the nudge's button as Teams sends it: the action's own data, `replyToId` the nudge's id
    (not the thread's root, the card), in the card's thread -> the invoke's answer."""
    nudge_id, card = nudge
    data = dict(action_of(card, verb, choice)["data"])
    handoff_id = data.pop("handoff_id")
    status, body = await bot.send(card_action(verb, handoff_id, sender=sender, service_url=bot.fake.service_url,
                                              conversation_id=conversation, message_id=nudge_id, **data))
    assert status == 200 and body["statusCode"] == 200, body
    return body


def answered_text(answer: dict) -> str:
    value = answer["value"]
    return value if isinstance(value, str) else card_texts(value)


async def nudged(bot, clock, worker) -> tuple[str, dict]:
    """The first reminder comes due (the service's clock moved past it): its nudge, posted in the thread."""
    clock.now = T0 + timedelta(seconds=2)
    await settle(worker, clock)
    [nudge] = nudges(bot)
    return nudge


async def retirements(bot, handoff_id) -> tuple[list[str], list]:
    """What the duplicate-card logic recorded for this handoff: its events, and its retirement jobs."""
    kinds = [e["kind"] for e in await bot.handoffs.events(handoff_id)]
    async with bot.services.database.transaction() as conn:
        jobs = await outbox.list_jobs(conn, kind=job_kinds.CARD_DUPLICATE)
    return [k for k in kinds if k.startswith("card_duplicate")], list(jobs)


async def until_true(worker, clock, check, *, timeout_s: float = 20.0) -> None:
    """Run what is due until `check()` holds, moving the service's clock on between rounds (a retry's backoff
    is on it), and letting real time pass too (a post's pace is kept in real time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        await run_due(worker)
        if check():
            return
        assert loop.time() < deadline, f"still not true after {timeout_s}s"
        await asyncio.sleep(0.05)
        clock.advance(0.5)


def reminders(schedule: str = "2s,1h") -> ReminderPolicy:
    return ReminderPolicy(parse_schedule(schedule))


async def test_the_nudge_in_the_thread_is_a_card_with_the_cards_pick_up_and_snooze(pg_db):
    clock = Clock()
    handoffs = Handoffs(pg_db, clock=clock, reminders=reminders())
    async with teams_bot(pg_db, handoffs=handoffs) as bot:
        worker, conversation, card_id = await escalated(bot, clock)
        nudge_id, nudge = await nudged(bot, clock, worker)
        [reply] = [c for c in bot.fake.of_kind("reply") if "attachments" in c.body]
        assert reply.conversation_id == conversation and reply.activity_id == card_id, "in the card's thread"
        assert not reply.body.get("text") and reply.body["summary"].startswith("⏰ Still waiting for pick-up")
        assert [t for t in thread_texts(bot, conversation) if "Still waiting" in t] == [
            "⏰ Still waiting for pick-up: escalated less than a minute ago. Reminder 1 of 2.\n\n"
            "Press Pick Up to take it, or snooze it if it can wait."]
        shown = [(a["type"], a["title"], a["verb"], a["data"].get("choice")) for a in nudge["actions"]]
        assert shown == [("Action.Execute", "Pick Up", "pickup", None),
                         ("Action.Execute", "Snooze 30 min", "snooze", "30m"),
                         ("Action.Execute", "Snooze 1 h", "snooze", "1h"),
                         ("Action.Execute", "Snooze 4 h", "snooze", "4h")]
        card = bot.fake.card_of(card_id)
        assert [{k: v for k, v in a.items() if k != "data"} for a in nudge["actions"]] == \
            [{k: v for k, v in a.items() if k != "data"} for a in card["actions"]], "the card's own buttons"
        assert all(a["data"] == {**c["data"], MESSAGE_FIELD: NUDGE} for a, c in zip(nudge["actions"], card["actions"]))


async def test_pick_up_from_the_nudge_claims_and_the_next_senior_is_told_who_has_it(pg_db):
    clock = Clock()
    handoffs = Handoffs(pg_db, clock=clock, reminders=reminders())
    async with teams_bot(pg_db, handoffs=handoffs) as bot:
        worker, conversation, card_id = await escalated(bot, clock)
        nudge = await nudged(bot, clock, worker)
        [handoff] = await handoffs.queue(workspace=ACME_TEAMS, viewer=key(ALEX))

        won = await press_nudge(bot, nudge, conversation, "pickup", DANA)
        assert answered_text(won) == "✅ Picked up by Dana, just now." and "actions" not in won["value"], \
            "in the nudge's place for Dana: who has it, no dead buttons"
        assert (await handoffs.load(handoff.id)).claimed_by.external_id == key(DANA).external_id
        await settle(worker, clock)
        assert "✅ Picked up by Dana" in card_texts(bot.fake.card_of(card_id)), "the card re-rendered as usual"
        assert [t for t in thread_texts(bot, conversation) if "picked this up. Your checklist:" in t]

        clock.now = (await handoffs.load(handoff.id)).claimed_at + timedelta(seconds=12)
        lost = await press_nudge(bot, nudge, conversation, "pickup", CAROL)
        assert answered_text(lost) == "Already claimed by Dana, 12 s ago." and "actions" not in lost["value"]
        again = await press_nudge(bot, nudge, conversation, "pickup", DANA)
        assert answered_text(again).startswith("This one is already yours.")
        await settle(worker, clock)
        state = await handoffs.load(handoff.id)
        assert state.claimed_by.external_id == key(DANA).external_id, "one winner"
        [record] = [t for t in thread_texts(bot, conversation) if "tried to pick this up too" in t]
        assert re.fullmatch(r"Carol tried to pick this up too: already claimed by Dana, \d+ s ago\.", record), \
            "the thread's record, as for the card"
        assert await retirements(bot, handoff.id) == ([], []), "a nudge is no copy of the card"
        assert {c.activity_id for c in bot.fake.of_kind("update")} == {card_id}, "only the card was edited"


async def test_snooze_from_the_nudge_author_yes_others_told_privately_who_can(pg_db):
    clock = Clock()
    handoffs = Handoffs(pg_db, clock=clock, reminders=reminders("2s,4s"))
    async with teams_bot(pg_db, handoffs=handoffs) as bot:
        worker, conversation, card_id = await escalated(bot, clock)
        nudge = await nudged(bot, clock, worker)
        [handoff] = await handoffs.queue(workspace=ACME_TEAMS, viewer=key(ALEX))

        refused = await press_nudge(bot, nudge, conversation, "snooze", CAROL, choice="30m")
        assert isinstance(refused["value"], str), "a private message; the nudge stays as it is"
        assert refused["value"].startswith("Only Jamie (who escalated it) or a Handoff admin (Alex Admin) can snooze")
        assert (await handoffs.load(handoff.id)).snoozed_until is None

        snoozed = await press_nudge(bot, nudge, conversation, "snooze", JAMIE, choice="30m")
        until = clock() + timedelta(minutes=30)
        assert answered_text(snoozed).startswith(f"🔕 Reminders for this escalation are snoozed until {until:%H:%M} UTC.")
        assert [a["verb"] for a in snoozed["value"]["actions"]] == ["pickup", "snooze", "snooze", "snooze"], \
            "still open: Pick Up and Snooze stay"
        assert (await handoffs.load(handoff.id)).snoozed_until == until
        await settle(worker, clock)
        shown = f"reminders snoozed until {{{{TIME({until:%Y-%m-%dT%H:%M:%SZ})}}}}"  # in each reader's own time
        assert shown in card_texts(bot.fake.card_of(card_id)), "the card shows it"
        clock.now = T0 + timedelta(seconds=10)  # past the second reminder's time, inside the snooze
        await settle(worker, clock)
        assert len(nudges(bot)) == 1, "no reminder while snoozed"
        assert await retirements(bot, handoff.id) == ([], [])


async def test_a_nudge_click_retires_nothing_even_with_a_copy_of_the_card_about(pg_db):
    """The card's post is answered but the answer is lost, so the retry posts a copy (the duplicate-card case).
    The nudge goes into the recorded card's thread; clicks on it claim and answer in the nudge's place, and
    retire nothing: the copy keeps its buttons until someone acts on the copy itself, which still retires it."""
    clock = Clock()
    handoffs = Handoffs(pg_db, clock=clock, reminders=reminders())
    async with teams_bot(pg_db, handoffs=handoffs) as bot:
        await use_this_channel(bot, ALEX)
        bot.fake.drop_next("create")
        dialog = await open_dialog(bot, JAMIE)
        status, _ = await bot.send(submit(JAMIE, bot.fake.service_url, dialog, summary="Teams calls drop"))
        assert status == 200
        worker = Worker(bot.services.database, bot.services.job_kinds(), clock=clock)
        await until_true(worker, clock, lambda: len(bot.fake.created) == 2)  # the lost answer's retry posts again
        [(copy_thread, copy), (live_thread, live)] = bot.fake.created
        [handoff] = await handoffs.queue(workspace=ACME_TEAMS, viewer=key(ALEX))
        assert (await handoffs.load(handoff.id)).card.message_ref == live
        clock.now = max(clock.now, T0) + timedelta(seconds=3)
        await settle(worker, clock)
        [nudge] = nudges(bot)

        won = await press_nudge(bot, nudge, live_thread, "pickup", DANA)
        lost = await press_nudge(bot, nudge, live_thread, "pickup", CAROL)
        refused = await press_nudge(bot, nudge, live_thread, "snooze", CAROL, choice="1h")
        assert answered_text(won).startswith("✅ Picked up by Dana")
        assert answered_text(lost).startswith("Already claimed by Dana")
        assert "Duplicate of" not in str([won, lost, refused])
        await settle(worker, clock)
        assert await retirements(bot, handoff.id) == ([], []), "nothing retired, nothing queued to retire"
        assert bot.fake.card_of(copy)["actions"], "the copy is as it was"
        assert copy not in {c.activity_id for c in bot.fake.of_kind("update")}
        assert nudges(bot) == [nudge], "the nudge is as it was posted"

        status, answer = await bot.send(card_action("refresh", str(handoff.id), sender=DANA,
                                                    service_url=bot.fake.service_url,
                                                    conversation_id=copy_thread, message_id=copy))
        assert status == 200 and answer["value"]["body"][0]["text"].startswith("Duplicate of the escalation card")
        await settle(worker, clock)
        found, _ = await retirements(bot, handoff.id)
        assert found == ["card_duplicate_found", "card_duplicate_retired"], "acting on the copy still retires it"
