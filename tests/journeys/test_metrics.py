"""GET /metrics before and after one Slack journey (PostgreSQL): every series moved by exactly what happened,
and the text parses with prometheus_client's own parser."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from standins.slack import requests as slack
from tests.journeys.slack_bot import CAROL, DANA, JAMIE, card_text, eventually, running_bot

EVENTS = "/slack/events"


async def scrape(url: str) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def moved(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_move_by_exactly_one_journey(pg_url):
    async with running_bot(pg_url) as bot:
        before = await scrape(bot.url)
        requests_before = before.get(("handoff_ack_latency_seconds_count", (("route", EVENTS),)), 0.0)

        handoff = await bot.escalate(JAMIE, summary="Print spooler crashes on the RDS host", urgency="high")
        ts = await bot.card_ts(handoff.id)
        await eventually(lambda: "Check the inbound connector" in card_text(bot.card(ts)))
        await bot.settled()
        waiting = await scrape(bot.url)
        assert waiting[("handoff_open_unclaimed", ())] == 1
        assert waiting[("handoff_pending_jobs", (("kind", "remind.step"),))] == 1

        await bot.press(JAMIE, "pickup", handoff.id, ts)  # refused: their own escalation
        await eventually(lambda: _refused_once(bot.url, before))
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: _claimed(bot, handoff.id))
        await bot.press(CAROL, "pickup", handoff.id, ts)  # lost
        await bot.send(slack.event_callback("T-ACME", slack.thread_message(DANA, text="On it", thread_ts=ts)))
        await eventually(lambda: _acted(bot, handoff.id))
        await bot.settled()
        after = await scrape(bot.url)

    assert moved(before, after, "handoff_escalations_total", urgency="high") == 1
    assert moved(before, after, "handoff_claims_total", outcome="won") == 1
    assert moved(before, after, "handoff_claims_total", outcome="lost") == 1
    assert moved(before, after, "handoff_claims_total", outcome="refused") == 1
    assert moved(before, after, "handoff_time_to_pickup_seconds_count") == 1
    assert moved(before, after, "handoff_time_to_first_action_seconds_count") == 1
    assert moved(before, after, "handoff_model_calls_total", outcome="ok") == 1
    assert moved(before, after, "handoff_model_tokens_total", direction="input") == 420  # the fake's usage
    assert moved(before, after, "handoff_model_tokens_total", direction="output") == 180
    assert moved(before, after, "handoff_model_latency_seconds_count") == 1

    trail = [e["kind"] for e in await _events(pg_url, handoff.id)]
    shown = trail.count("card_posted") + trail.count("card_edited")
    assert shown >= 2 and moved(before, after, "handoff_card_lag_seconds_count", platform="slack") == shown

    # modal open, submit, three presses, one message event: six requests to /slack/events
    sent = after[("handoff_ack_latency_seconds_count", (("route", EVENTS),))] - requests_before
    assert sent == 6
    assert after[("handoff_open_unclaimed", ())] == 0 and after[("handoff_overdue", ())] == 0


async def _refused_once(url, before) -> bool:
    return moved(before, await scrape(url), "handoff_claims_total", outcome="refused") == 1


async def _claimed(bot, handoff_id):
    state = await bot.handoffs.load(handoff_id)
    return state.claimed_by is not None


async def _acted(bot, handoff_id):
    state = await bot.handoffs.load(handoff_id)
    return state.first_action_at is not None


async def _events(url, handoff_id):
    from db.engine import Database
    from db.store import list_events

    database = Database(url)
    try:
        async with database.transaction() as conn:
            return [dict(r) for r in await list_events(conn, handoff_id=handoff_id)]
    finally:
        await database.dispose()


async def test_queue_gauges_are_the_same_from_every_replica(pg_url):
    """Two replicas on one database: the gauges come from the database, so both report the same queue
    (counters are each replica's own)."""
    from bot.config import Settings
    from bot.server import create_app
    from tests.servers import serve

    async with running_bot(pg_url) as bot:
        await bot.escalate(JAMIE, summary="Print spooler crashes on the RDS host")
        await bot.escalate(CAROL, summary="Wi-Fi drops in the warehouse")
        await bot.settled()
        other = create_app(Settings(database_url=pg_url), run_worker=False)
        async with serve(other) as other_url:
            here, there = await scrape(bot.url), await scrape(other_url)
    gauges = [k for k in here if k[0] in ("handoff_open_unclaimed", "handoff_overdue", "handoff_pending_jobs")]
    assert here[("handoff_open_unclaimed", ())] == 2
    assert {k: here[k] for k in gauges} == {k: there.get(k) for k in gauges}
    assert there.get(("handoff_escalations_total", (("urgency", "normal"),)), 0) == 0  # its own counters
