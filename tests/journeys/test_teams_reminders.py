"""Reminders, snooze, stats and settings on Teams (the parity rows of the Slack journeys), PostgreSQL,
with the service's clock moved by hand and the real worker over the real outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.metrics import PrometheusTelemetry
from core.handoffs import Handoffs
from core.models import PersonKey
from core.schedule import ReminderPolicy, parse_schedule
from core.jobs import TIMER_KINDS
from core.worker import Worker
from db import outbox
from tests.core.test_reminders import T0, Clock
from tests.fakes.port import run_due
from tests.teams.harness import (
    ACME_TEAMS,
    TENANT,
    card_action,
    invoke,
    message,
    open_dialog,
    posted_card,
    say,
    submit,
    teams_bot,
    teams_user,
    use_this_channel,
)

JAMIE, ALEX, DANA = teams_user("Jamie"), teams_user("Alex Admin"), teams_user("Dana")
HELD_BACK_S = 1.0  # a pending delivery due this soon is a paced post or a quick retry, not a later step


async def escalated(bot, clock):
    await use_this_channel(bot, ALEX)  # Alex becomes the workspace's first admin
    dialog = await open_dialog(bot, JAMIE)
    status, _ = await bot.send(submit(JAMIE, bot.fake.service_url, dialog, summary="SharePoint sync stuck"))
    assert status == 200
    worker = Worker(bot.services.database, bot.services.job_kinds(), clock=clock)
    await run_due(worker)
    conversation, activity_id, _ = posted_card(bot)
    return worker, conversation, activity_id


async def settle(worker, clock, *, timeout_s: float = 20.0) -> None:
    """Run what is due, then, while a delivery is held back only briefly (the conversation's pace, kept in
    real time, reschedules a post a fraction of a second later on the service's clock), move the service's
    clock along with real time and run it too. Waits for that condition, not for a fixed number of rounds,
    so a slow machine only makes it take longer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    work = [kind for kind in worker.kinds if kind not in TIMER_KINDS]  # reminders wait for the test's clock
    while True:
        await run_due(worker)
        async with worker.db.transaction() as conn:
            due_in = await outbox.next_due_in(conn, now=clock(), kinds=work)
        if due_in is None or due_in > HELD_BACK_S:
            return
        assert loop.time() < deadline, f"a delivery still held back after {timeout_s}s"
        started = loop.time()
        await asyncio.sleep(0.05)
        clock.advance(loop.time() - started)


def thread_texts(bot, conversation):
    return [reply_text(c.body) for c in bot.fake.of_kind("reply") if c.conversation_id == conversation]


def reply_text(body) -> str:
    """What a reply says: its text, or, for a message with buttons (an Adaptive Card), its paragraphs."""
    for attachment in body.get("attachments") or []:
        return "\n\n".join(b["text"] for b in attachment["content"]["body"] if b.get("type") == "TextBlock")
    return body.get("text") or ""


def card_texts(card) -> str:
    """The card as read: bold markers gone (a time stays as the card's TIME() that each reader sees locally)."""
    facts = [f"{f['title']}: {f['value']}" for b in card["body"] if b.get("type") == "FactSet" for f in b["facts"]]
    return "\n".join([*(b.get("text", "") for b in card["body"]), *facts]).replace("**", "")


async def test_nudges_in_the_thread_admins_told_once_card_overdue(pg_db):
    clock = Clock()
    metrics = PrometheusTelemetry()
    handoffs = Handoffs(pg_db, clock=clock, reminders=ReminderPolicy(parse_schedule("2s,4s")), telemetry=metrics)
    async with teams_bot(pg_db, handoffs=handoffs) as bot:
        worker, conversation, activity_id = await escalated(bot, clock)
        clock.now = T0 + timedelta(seconds=2)
        await settle(worker, clock)
        assert [t for t in thread_texts(bot, conversation) if "Still waiting" in t] == [
            "⏰ Still waiting for pick-up: escalated less than a minute ago. Reminder 1 of 2.\n\n"
            "Press Pick Up to take it, or snooze it if it can wait."]
        clock.now = T0 + timedelta(seconds=4)
        await settle(worker, clock)
        nudges = [t for t in thread_texts(bot, conversation) if "Still waiting" in t]
        assert len(nudges) == 2 and "Reminder 2 of 2" in nudges[1] and "admins have been told" in nudges[1]
        admin_dms = [c for c in bot.fake.of_kind("create")
                     if (c.body.get("members") or [{}])[0].get("id") == ALEX["id"]]
        assert len(admin_dms) == 1 and "Overdue" in admin_dms[0].body["activity"]["text"]
        assert "Overdue · unclaimed for 4 s" in card_texts(bot.fake.card_of(activity_id))
        clock.now = T0 + timedelta(hours=2)
        await run_due(worker)
        assert len([t for t in thread_texts(bot, conversation) if "Still waiting" in t]) == 2
        sample = metrics.registry.get_sample_value
        assert sample("handoff_nudges_total", {"kind": "thread"}) == 2
        assert sample("handoff_nudges_total", {"kind": "admin_dm"}) == 1
        created = len(bot.fake.of_kind("create"))  # the card and the admin's 1:1 chat
        assert sample("handoff_platform_calls_total", {"platform": "teams", "method": "create_conversation",
                                                       "outcome": "ok"}) == created


async def test_snooze_on_the_card_author_yes_others_told_who_can(pg_db):
    clock = Clock()
    handoffs = Handoffs(pg_db, clock=clock, reminders=ReminderPolicy(parse_schedule("2s,4s")))
    async with teams_bot(pg_db, handoffs=handoffs) as bot:
        worker, conversation, activity_id = await escalated(bot, clock)
        [handoff] = await handoffs.queue(workspace=ACME_TEAMS, viewer=handoffs_person(DANA))
        url = bot.fake.service_url
        status, body = await bot.send(card_action("snooze", str(handoff.id), sender=DANA, service_url=url,
                                                  conversation_id=conversation))
        assert status == 200 and "can snooze its reminders" in body["value"]
        status, body = await bot.send(card_action("snooze", str(handoff.id), sender=JAMIE, service_url=url,
                                                  conversation_id=conversation))
        assert status == 200 and "reminders snoozed until" in card_texts(body["value"])
        clock.now = T0 + timedelta(seconds=10)
        await run_due(worker)
        assert not [t for t in thread_texts(bot, conversation) if "Still waiting" in t]


async def test_snooze_for_30_minutes_from_the_card_and_the_card_drops_it_when_it_ends(pg_db):
    """The card offers the core's snooze lengths; the author picks 30 min; at its end (the service's clock
    moved by hand, the real worker over the real outbox) the posted card no longer says it is snoozed."""
    clock = Clock()
    handoffs = Handoffs(pg_db, clock=clock, reminders=ReminderPolicy(parse_schedule("2h")))
    async with teams_bot(pg_db, handoffs=handoffs) as bot:
        worker, conversation, activity_id = await escalated(bot, clock)
        card = bot.fake.card_of(activity_id)
        snoozes = [(a["title"], a["data"]["choice"]) for a in card["actions"] if a["verb"] == "snooze"]
        assert snoozes == [("Snooze 30 min", "30m"), ("Snooze 1 h", "1h"), ("Snooze 4 h", "4h")]
        handoff_id = card["actions"][0]["data"]["handoff_id"]
        status, body = await bot.send(card_action("snooze", handoff_id, sender=JAMIE, service_url=bot.fake.service_url,
                                                  conversation_id=conversation, choice="30m"))
        until = clock() + timedelta(minutes=30)
        assert status == 200 and f"reminders snoozed until {{{{TIME({until:%Y-%m-%dT%H:%M:%SZ})}}}}" in card_texts(body["value"])
        await settle(worker, clock)
        assert "reminders snoozed until" in card_texts(bot.fake.card_of(activity_id))
        clock.now = until - timedelta(seconds=5)
        await settle(worker, clock)
        assert "reminders snoozed until" in card_texts(bot.fake.card_of(activity_id)), "not before its end"
        clock.now = until + timedelta(seconds=1)
        await settle(worker, clock)
        assert "snoozed" not in card_texts(bot.fake.card_of(activity_id))
        assert "🙋 Waiting for pick-up: the first to press Pick Up owns it" in card_texts(bot.fake.card_of(activity_id))


async def test_stats_and_the_settings_card(pg_db):
    clock = Clock()
    handoffs = Handoffs(pg_db, clock=clock, reminders=ReminderPolicy(parse_schedule("2s,4s")))
    async with teams_bot(pg_db, handoffs=handoffs) as bot:
        await escalated(bot, clock)
        answer = await say(bot, "stats", sender=DANA, channel=None)
        assert "Last 7 days" in answer and "1 escalation" in answer and "Open now: 1" in answer
        assert "Stats cover the last 7 or 30 days" in await say(bot, "stats 90d", sender=DANA, channel=None)

        url = bot.fake.service_url
        status, _ = await bot.send(_settings_message(DANA, url))
        [card_call] = [c for c in bot.fake.of_kind("reply") if c.body.get("attachments")][-1:]
        card = card_call.body["attachments"][0]["content"]
        assert any(b.get("id") == "reminders" and b.get("value") == "2s,4s" for b in card["body"])

        refused = await _save(bot, DANA, "1m,5m")
        assert "Only a Handoff admin can change that" in card_texts(refused)
        saved = await _save(bot, ALEX, "1m, 5m")
        assert "this workspace's own schedule: 1m,5m" in card_texts(saved)
        assert (await handoffs.reminder_schedule(workspace=ACME_TEAMS)).schedule == "1m,5m"
        bad = await _save(bot, ALEX, "5m,1m")
        assert "later than the one before" in card_texts(bad)

        status, body = await bot.send(_action("stats", {"workspace": "other-tenant", "days": 30}, DANA, url))
        assert "belong to another workspace" in body["value"]


def handoffs_person(user):
    return PersonKey(user["id"], user["name"])


def _settings_message(sender, url):
    return message("settings", sender=sender, service_url=url)


def _action(verb, data, sender, url):
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
    return invoke("adaptiveCard/action", value, sender=sender, service_url=url)


async def _save(bot, sender, schedule):
    status, body = await bot.send(_action("reminders", {"workspace": TENANT, "reminders": schedule}, sender,
                                          bot.fake.service_url))
    assert status == 200, body
    return body["value"]
