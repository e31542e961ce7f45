"""After the card on Slack: Snooze (30 min, 1 h, 4 h), /escalate stats, the App Home's week (signed requests in, the stand-in out)."""

from __future__ import annotations

import json
from datetime import timedelta

from core.worker import Worker
from db.tables import utcnow
from tests.core.test_reminders import Clock
from tests.fakes.port import run_due

from standins.slack import requests as slack
from tests.journeys.slack_bot import (
    CAROL, DANA, JAMIE, buttons, card_text, eventually, running_bot, slack_person, workspace,
)


async def test_author_snoozes_from_the_card_and_anyone_else_is_told_who_can(pg_url):
    async with running_bot(pg_url) as bot:
        handoff = await bot.escalate(JAMIE, summary="Backups failed on the file server")
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: "handoff_snooze" in buttons(bot.card(ts)))

        await bot.press(CAROL, "snooze", handoff.id, ts)
        said = await eventually(lambda: bot.fake.ephemerals_for("U-CAROL"))
        assert "only jamie (who escalated it) or a handoff admin" in said[0]["text"].lower()
        assert (await bot.handoffs.load(handoff.id)).snoozed_until is None

        await bot.press(JAMIE, "snooze", handoff.id, ts)
        said = await eventually(lambda: bot.fake.ephemerals_for("U-JAMIE"))
        assert "Reminders for this escalation are snoozed until" in said[0]["text"]
        await eventually(lambda: "reminders snoozed until" in card_text(bot.card(ts)))
        await bot.settled()


async def test_snooze_for_30_minutes_from_the_cards_menu_and_the_card_drops_it_when_it_ends(pg_url):
    """The card offers the core's snooze lengths; the author picks 30 min; at its end (the service's clock
    moved by hand, the real outbox run) the card no longer says it is snoozed."""
    clock = Clock(utcnow())
    async with running_bot(pg_url, clock=clock) as bot:
        handoff = await bot.escalate(JAMIE, summary="Backups failed on the file server")
        ts = await bot.card_ts(handoff.id)
        [menu] = [e for b in bot.card(ts)["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["action_id"] == "handoff_snooze"]
        assert [o["text"]["text"] for o in menu["options"]] == ["Snooze 30 min", "Snooze 1 h", "Snooze 4 h"]
        await bot.press(JAMIE, "snooze", handoff.id, ts, option=menu["options"][0])
        said = await eventually(lambda: bot.fake.ephemerals_for("U-JAMIE"))
        until = clock() + timedelta(minutes=30)
        assert f"snoozed until {until:%H:%M} UTC" in said[0]["text"]
        await eventually(lambda: "reminders snoozed until" in card_text(bot.card(ts)))
        await bot.settled()

        worker = Worker(bot.services.database, bot.services.job_kinds(), clock=clock, worker_id="test")
        clock.advance(29 * 60)
        await run_due(worker)
        assert "reminders snoozed until" in card_text(bot.card(ts)), "not before its end"
        clock.advance(61)
        await run_due(worker)
        await eventually(lambda: "snoozed" not in card_text(bot.card(ts)).lower())
        assert "Waiting for pick-up" in card_text(bot.card(ts)) and "handoff_pickup" in buttons(bot.card(ts))


async def test_stats_are_private_and_name_what_matters(pg_url):
    async with running_bot(pg_url) as bot:
        handoff = await bot.escalate(JAMIE, summary="VPN drops every hour", urgency="high")
        ts = await bot.card_ts(handoff.id)
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: _claimed(bot, handoff.id))
        await bot.escalate(CAROL, summary="Printer offline")

        answer = await bot.send(slack.slash_command(DANA, "stats"))
        body = answer.json()
        assert body["response_type"] == "ephemeral"
        text = json.dumps(body, ensure_ascii=False)
        assert "Last 7 days" in text and "2 escalations" in text and "Picked up: 1 of 2 (50%)" in text
        assert "High 1" in text and "Normal 1" in text and "picks up most: dana 1" in text.lower()
        assert "Open now: 1 (0 overdue)" in text and "Per day:" in text

        month = (await bot.send(slack.slash_command(DANA, "stats 30d"))).json()
        assert "Last 30 days" in json.dumps(month)
        wrong = (await bot.send(slack.slash_command(DANA, "stats forever"))).json()
        assert "Stats cover the last 7 or 30 days, not 'forever'" in wrong["text"]
        await bot.settled()


async def test_app_home_shows_the_week_and_refuses_another_workspaces_stats(pg_url):
    async with running_bot(pg_url) as bot:
        await bot.escalate(JAMIE, summary="Disk full on SQL01")
        await bot.send(slack.event_callback("T-ACME", {"type": "app_home_opened", "user": "U-DANA", "tab": "home"}))
        published = await eventually(lambda: bot.fake.calls_to("views.publish"))
        home = json.dumps(published[-1].args["view"], ensure_ascii=False)
        assert "This week" in home and "1 escalated" in home and "█" in home
        assert "T-ACME:30" in home  # the stats buttons carry the workspace they were drawn for

        await bot.press(DANA, "stats", "T-ACME:30", "")
        said = await eventually(lambda: bot.fake.ephemerals_for("U-DANA"))
        assert "Last 30 days" in said[-1]["text"]
        await bot.press(DANA, "stats", "T-GLOBEX:30", "")
        said = await eventually(lambda: len(bot.fake.ephemerals_for("U-DANA")) > 1 and bot.fake.ephemerals_for("U-DANA"))
        assert "belong to another workspace" in said[-1]["text"]
        await bot.settled()


async def _claimed(bot, handoff_id):
    return (await bot.handoffs.load(handoff_id)).claimed_by is not None




async def test_admins_change_the_reminder_schedule_in_the_settings(pg_url):
    async with running_bot(pg_url) as bot:
        await bot.handoffs.bootstrap_admin(workspace=workspace(), person=slack_person(CAROL))
        await bot.send(slack.event_callback("T-ACME", {"type": "app_home_opened", "user": "U-CAROL", "tab": "home"}))
        published = await eventually(lambda: bot.fake.calls_to("views.publish"))
        assert "*Reminders:* `10m,30m,1h`" in json.dumps(published[-1].args["view"])

        view = await open_settings(bot, CAROL)
        field = next(b for b in view["blocks"] if b["block_id"] == "reminders")
        assert field["element"]["initial_value"] == "10m,30m,1h"

        bad = await save_reminders(bot, CAROL, view["id"], "30m,10m")
        assert bad["response_action"] == "errors" and "later than the one before" in bad["errors"]["reminders"]
        done = await save_reminders(bot, CAROL, view["id"], "5m, 15m")
        assert done["response_action"] == "update" and "5m,15m" in json.dumps(done["view"])
        assert (await bot.handoffs.reminder_schedule(workspace=workspace())).schedule == "5m,15m"
        # Someone who is not an admin gets no settings form; a forged submit changes nothing.
        refused = await save_reminders(bot, DANA, "V-FORGED", "1m")
        assert refused["response_action"] == "errors" and "Only a Handoff admin" in refused["errors"]["reminders"]
        assert (await bot.handoffs.reminder_schedule(workspace=workspace())).schedule == "5m,15m"


async def open_settings(bot, actor):
    before = len(bot.fake.calls_to("views.open"))
    assert (await bot.send(slack.slash_command(actor, "setup"))).status == 200
    await eventually(lambda: len(bot.fake.calls_to("views.open")) > before)
    return bot.fake.calls_to("views.open")[-1].args["view"] | {"id": list(bot.fake.world.views)[-1]}


async def save_reminders(bot, actor, view_id, schedule):
    values = {"reminders": {"reminders": {"type": "plain_text_input", "value": schedule}}}
    body = slack.view_submission(actor, view_id=view_id, values=values, callback_id="handoff_settings")
    return (await bot.send(body)).json()
