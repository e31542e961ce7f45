"""What comes into the bot: signatures, retries, bad input, hostile text, refusals."""

import time

from core.models import PersonKey
from standins.slack import requests as slack
from tests.journeys.slack_bot import (
    CAROL, CHANNEL, DANA, JAMIE, card_text, eventually, running_bot, slack_person, workspace,
)


async def test_bad_signature_and_stale_timestamp_are_refused(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        body = slack.slash_command(JAMIE, "help")
        assert (await bot.send(body, secret="not-the-secret")).status == 401
        assert (await bot.send(body, timestamp=int(time.time()) - 6 * 60)).status == 401
        assert (await bot.send(body)).status == 200  # the same request, signed right
        await eventually(lambda: bot.fake.calls_to("views.open"))
        assert len(bot.fake.calls_to("views.open")) == 1


async def test_empty_summary_and_oversized_fields_come_back_inside_the_modal(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        view = await bot.open_modal(JAMIE)
        answer = await bot.submit(JAMIE, view, summary="   ")
        assert answer.json() == {"response_action": "errors", "errors": {"summary": "Problem summary is required."}}
        answer = await bot.submit(JAMIE, view, summary="x" * 5000, tried="y" * 5000, notes="ok")
        errors = answer.json()["errors"]
        assert errors["summary"] == "Problem summary is 5,000 characters; the limit is 2,000."
        assert errors["tried"] == "What I've tried is 5,000 characters; the limit is 3,000."
        assert await bot.handoffs.queue(workspace=workspace(), viewer=slack_person(DANA)) == []
        # Fixed, the same modal goes through.
        answer = await bot.submit(JAMIE, view, summary="Printer queue stuck", tried="Restarted spooler")
        assert answer.json()["response_action"] == "update"


async def test_hostile_summary_renders_inert(sqlite_url):
    hostile = "<!channel> *x* <http://a|b> @here"
    async with running_bot(sqlite_url) as bot:
        handoff = await bot.escalate(JAMIE, summary=hostile, ticket="<!everyone>")
        ts = await bot.card_ts(handoff.id)
        card = bot.card(ts)
        mrkdwn = [card["text"]] + [e["text"] for b in card["blocks"] if b["type"] == "context" for e in b["elements"]]
        for text in mrkdwn:
            for live in ("<!channel>", "<!everyone>", "<http://a", "@here"):
                assert live not in text, text
        rich = [e for b in card["blocks"] if b["type"] == "rich_text" for s in b["elements"] for e in s["elements"]]
        assert {"type": "text", "text": hostile} in rich  # shown literally, in an element Slack never parses
        assert card["blocks"][0]["text"]["type"] == "plain_text"


async def test_retried_submission_and_clicks_change_nothing(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        view = await bot.open_modal(JAMIE)
        first = await bot.submit(JAMIE, view, summary="DNS broken for the Leeds office")
        again = await bot.send(slack.view_submission(JAMIE, view_id=view["id"], values=slack.modal_values(
            summary="DNS broken for the Leeds office"), private_metadata=view["private_metadata"]), retry_num=1)
        assert first.json() == again.json()
        [handoff] = await bot.handoffs.queue(workspace=workspace(), viewer=slack_person(DANA))
        ts = await bot.card_ts(handoff.id)
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: _state_with(bot, handoff.id, lambda s: s.claimed_by))  # handlers run after the ack
        for retry in (None, 1, 2):
            await bot.press(CAROL, "pickup", handoff.id, ts, retry_num=retry)
        await bot.press(DANA, "pickup", handoff.id, ts, retry_num=1)
        await bot.settled()
        replies = bot.fake.thread(CHANNEL, ts)
        assert [r["text"].startswith("Carol tried to pick this up too") for r in replies].count(True) == 1
        assert len(replies) == 2  # Dana's checklist, Carol's one conflict reply
        assert len(bot.fake.channel(CHANNEL)) == 1
        assert len(bot.fake.dms_to("U-JAMIE")) == 1
        # Dana pressing again is told it is already hers, once per press, and nothing else moves.
        await eventually(lambda: bot.fake.ephemerals_for("U-DANA"))
        assert bot.fake.ephemerals_for("U-DANA")[0]["text"] == \
            "This one is already yours. Resolve it when it's fixed, or Release it to hand it back."


async def test_refusals_are_ephemeral_explanations(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        await bot.press(JAMIE, "pickup", handoff.id, ts)
        await eventually(lambda: bot.fake.ephemerals_for("U-JAMIE"))
        assert bot.fake.ephemerals_for("U-JAMIE")[0]["text"] == \
            "You escalated this one yourself, so a teammate needs to pick it up. You'll see on the card who does."

        await bot.handoffs.bootstrap_admin(workspace=workspace(), person=PersonKey("U-ADMIN", "Ada"))
        await bot.handoffs.set_role(workspace=workspace(), admin=PersonKey("U-ADMIN"), person=PersonKey("U-CAROL"), role="viewer")
        await bot.press(CAROL, "pickup", handoff.id, ts)
        await eventually(lambda: bot.fake.ephemerals_for("U-CAROL"))
        assert "Your Handoff role is viewer" in bot.fake.ephemerals_for("U-CAROL")[0]["text"]
        assert "Ask a Handoff admin (Ada) for the engineer role." in bot.fake.ephemerals_for("U-CAROL")[0]["text"]

        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: "Picked up by <@U-DANA>" in card_text(bot.card(ts)))
        await bot.press(JAMIE, "resolve", handoff.id, ts)
        await eventually(lambda: len(bot.fake.ephemerals_for("U-JAMIE")) == 2)
        assert bot.fake.ephemerals_for("U-JAMIE")[1]["text"].startswith(
            "Only the engineer who picked this up (Dana) can release or resolve it.")
        state = await bot.handoffs.load(handoff.id)
        assert state.status == "claimed" and state.claimed_by.external_id == "U-DANA"
        assert all("already claimed" not in r["text"] for r in bot.fake.thread(CHANNEL, ts))


async def test_owner_first_thread_message_is_counted_once(sqlite_url):
    async with running_bot(sqlite_url) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        await bot.press(DANA, "pickup", handoff.id, ts)
        await eventually(lambda: _state_with(bot, handoff.id, lambda s: s.claimed_by))
        carol_says = slack.event_callback("T-ACME", slack.thread_message(CAROL, text="+1", thread_ts=ts))
        assert (await bot.send(carol_says)).status == 200
        dana_says = slack.event_callback("T-ACME", slack.thread_message(DANA, text="On it", thread_ts=ts), event_id="Ev-DANA-1")
        assert (await bot.send(dana_says)).status == 200
        state = await eventually(lambda: _state_with(bot, handoff.id, lambda s: s.first_action_at))
        assert (await bot.send(dana_says, retry_num=1)).status == 200  # Slack's retry of the same event
        later = slack.event_callback("T-ACME", slack.thread_message(DANA, text="Fixed", thread_ts=ts))
        assert (await bot.send(later)).status == 200
        await bot.settled()
        assert (await bot.handoffs.load(handoff.id)).first_action_at == state.first_action_at
        assert [e["kind"] for e in await bot.handoffs.events(handoff.id)].count("first_action") == 1


async def _state_with(bot, handoff_id, predicate):
    state = await bot.handoffs.load(handoff_id)
    return state if predicate(state) else None


async def test_an_acked_pick_up_is_already_recorded(sqlite_url):
    """The claim commits before Slack gets its answer (within the bound), so an acked click is never lost."""
    async with running_bot(sqlite_url) as bot:
        handoff = await bot.escalate(JAMIE)
        ts = await bot.card_ts(handoff.id)
        answer = await bot.press(DANA, "pickup", handoff.id, ts)
        assert answer.status == 200
        state = await bot.handoffs.load(handoff.id)  # no waiting: it is there the moment the ack is
        assert state.claimed_by is not None and state.claimed_by.external_id == "U-DANA"
        assert "claimed" in [e["kind"] for e in await bot.handoffs.events(handoff.id)]
        answer = await bot.press(DANA, "resolve", handoff.id, ts)
        assert (await bot.handoffs.load(handoff.id)).status == "resolved"
