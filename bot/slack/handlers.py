"""Slack listeners: ack first, translate, call the core, say what happened. No domain rules here."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from bot.inflight import TrackedListeners
from slack_sdk.errors import SlackApiError

from bot.slack.delivery import SlackDelivery
from bot.slack.payloads import (
    EXCERPT_MESSAGES,
    TARGET_FIELD,
    ModalContext,
    button_value,
    channel_of,
    excerpt_from,
    modal_errors,
    parse_submission,
    readable_command_text,
    person_of,
    split_choice,
    workspace_of,
)
from cards import messages
from cards import slack_messages
from cards.messages import Message
from cards.slack_views import (
    ESCALATE_MODAL,
    ModalPrefill,
    done_modal,
    escalate_modal,
    list_blocks,
    list_fallback_text,
)
from cards import reminder_messages
from cards.stats_messages import bad_window, parse_window, stats_message
from cards.limits import SLACK_MAX_BLOCKS
from cards.view import build_card_view
from core.delivery import handoff_uuid
from core.errors import DatabaseUnavailable
from core.handoffs import Handoffs
from core.models import AlreadyYours, Done, Lost, NoChannel, PersonKey, Refused, Snoozed, Won
from core.snapshot import FIELD_LIMITS, CheckTicket, Invalid, validate_snapshot
from manifest.slack import COMMAND, THREAD_SHORTCUT  # what the app manifest registers with Slack

log = logging.getLogger("handoff.slack")

# How long a Pick Up waits for its claim to commit before acking (Slack allows 3 s for the ack): within
# it, an acked click is a recorded click; past it the ack goes out and the claim finishes after it.
RECORD_BEFORE_ACK_S = 1.5


class SlackHandlers:
    def __init__(self, *, handoffs: Handoffs, delivery: SlackDelivery,
                 record_before_ack_s: float = RECORD_BEFORE_ACK_S, check_ticket: CheckTicket | None = None) -> None:
        self.handoffs = handoffs
        self.delivery = delivery
        self.record_before_ack_s = record_before_ack_s
        self.check_ticket = check_ticket  # the PSA's word on the ticket field, answered within the ack

    def register(self, app: TrackedListeners) -> None:
        app.command(COMMAND)(self.on_escalate)
        app.shortcut(THREAD_SHORTCUT)(self.on_escalate_thread)
        app.view(ESCALATE_MODAL)(self.on_submit)
        app.action("handoff_pickup")(self.on_pick_up)
        app.action("handoff_release")(self.on_release)
        app.action("handoff_resolve")(self.on_resolve)
        app.action("handoff_escalate_now")(self.on_escalate_now)
        app.action("handoff_snooze")(self.on_snooze)
        app.action("handoff_stats")(self.on_stats_button)
        app.event("message")(self.on_message)  # App Home: bot/slack/admin.py (queue, week, settings)

    def register_fallbacks(self, app: TrackedListeners) -> None:
        """A button of ours that no listener knows (an old card's, a changed one): said, not a Slack error."""
        app.action(re.compile(r"^handoff_"))(self.on_unknown_button)

    async def on_unknown_button(self, ack, body) -> None:
        await ack()
        await self.tell(body, messages.button_unsupported())

    async def tell(self, body: dict[str, Any], message: Message) -> None:
        """Say something only the person who acted sees (the action's response_url when it has one)."""
        await self.delivery.tell(workspace_of(body).external_id, user=person_of(body).external_id, message=message,
                                 channel=channel_of(body), response_url=body.get("response_url"))

    async def refusal(self, body: dict[str, Any], refused: Refused) -> Message:
        workspace = workspace_of(body)
        admins = await self.handoffs.admins(workspace=workspace) if refused.reason == "viewer" else ()
        owner = refused.handoff.claimed_by if refused.handoff is not None else None
        if refused.reason == "not_owner" and owner is not None:
            return messages.refusal(refused, owner=await self.delivery.person_view(workspace.external_id, owner))
        return messages.refusal(refused, admins=admins)

    # --- /escalate and the modal ------------------------------------------------------------------

    async def on_escalate(self, ack, body, command, client) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() == "list":
            await ack(**await self.list_answer(body))  # a quick read, answered in the ack itself
            return
        if text.lower().split()[:1] == ["stats"]:
            answer = await self.stats_answer(body, text[len("stats"):])  # a quick read, answered in the ack
            await ack(response_type="ephemeral", **slack_messages.render(answer))
            return
        await ack()
        context = ModalContext(channel=command.get("channel_id"))
        view = escalate_modal(ModalPrefill(summary=readable_command_text(text)), private_metadata=context.encode())
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    async def list_answer(self, body: dict[str, Any]) -> dict[str, Any]:
        workspace, person = workspace_of(body), person_of(body)
        now = self.handoffs.clock()
        parked = [build_card_view(h, now=now) for h in await self.handoffs.parked(workspace=workspace, person=person)]
        newest, total = await self.handoffs.newest_in_queue(workspace=workspace, viewer=person, limit=SLACK_MAX_BLOCKS)
        queue = [build_card_view(h, now=now) for h in newest]
        return {"response_type": "ephemeral", "text": list_fallback_text(parked=parked, queue_total=total),
                "blocks": list_blocks(parked=parked, queue=queue, queue_total=total)}

    async def stats_answer(self, body: dict[str, Any], window: str, *, asked_for: str | None = None) -> Message:
        days = parse_window(window)
        if days is None:
            return bad_window(window)
        stats = await self.handoffs.stats(workspace=workspace_of(body), days=days, asked_for=asked_for)
        return messages.refusal(stats) if isinstance(stats, Refused) else stats_message(stats)

    async def on_stats_button(self, ack, body) -> None:
        """App Home's stats buttons carry the workspace they were drawn for and a window: `T123:30`."""
        await ack()
        team, _, days = button_value(body).partition(":")
        await self.tell(body, await self.stats_answer(body, days, asked_for=team))

    async def on_escalate_thread(self, ack, body, client) -> None:
        """Message shortcut: the same modal, prefilled from the message, then enriched with the thread."""
        await ack()
        message, channel = body.get("message") or {}, channel_of(body)
        prefill = ModalPrefill(summary=(message.get("text") or "")[: FIELD_LIMITS["summary"][1]])
        opened = await client.views_open(
            trigger_id=body["trigger_id"],
            view=escalate_modal(prefill, private_metadata=ModalContext(channel).encode(),
                                notice=slack_messages.plain_text(messages.reading_thread())),
        )
        context, notice = await self._thread_context(client, channel, message)
        await client.views_update(view_id=opened["view"]["id"], hash=opened["view"].get("hash"),
                                  view=escalate_modal(prefill, private_metadata=context.encode(), notice=notice))

    async def _thread_context(self, client, channel: str | None, message: dict) -> tuple[ModalContext, str]:
        """Best effort: one conversations.replies call of at most 15 messages, else the message alone."""
        ts = message.get("ts", "")
        single = excerpt_from([message])
        try:
            link = (await client.chat_getPermalink(channel=channel, message_ts=ts)).get("permalink", "")
        except SlackApiError:
            link = ""
        try:
            replies = await client.conversations_replies(channel=channel, ts=message.get("thread_ts") or ts,
                                                         limit=EXCERPT_MESSAGES)
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else ""
            notice = messages.thread_not_readable(not_in_channel=code in ("not_in_channel", "channel_not_found"))
            return ModalContext(channel, link, single), slack_messages.plain_text(notice)
        thread = replies.get("messages") or [message]
        return ModalContext(channel, link, excerpt_from(thread)), slack_messages.plain_text(messages.thread_included(len(thread)))

    async def on_submit(self, ack, body, view) -> None:
        """Validation errors go back inside the modal (in the ack); the handoff is keyed on view.id."""
        submission = parse_submission(view)
        snapshot = validate_snapshot(submission.fields)
        workspace, author = workspace_of(body), person_of(body)
        if self.check_ticket is not None and not isinstance(snapshot, Invalid):
            snapshot = await self.check_ticket(workspace, snapshot)
        if isinstance(snapshot, Invalid):
            await ack(response_action="errors", errors=modal_errors(slack_messages.field_errors(snapshot.errors)))
            return
        target = PersonKey(submission.target) if submission.target else None
        create = self.handoffs.park if submission.intent == "park" else self.handoffs.escalate
        try:
            outcome = await create(workspace=workspace, author=author, snapshot=snapshot, target=target,
                                   idempotency_key=f"view:{view['id']}")
        except DatabaseUnavailable:
            await ack(response_action="errors", errors={"summary": slack_messages.plain_text(messages.save_failed())})
            return
        if isinstance(outcome, NoChannel):
            admins = await self.handoffs.admins(workspace=workspace)
            await ack(response_action="errors", errors={"summary": slack_messages.plain_text(messages.no_channel(admins))})
        elif isinstance(outcome, Refused):  # the senior named is the author
            await ack(response_action="errors", errors={TARGET_FIELD: slack_messages.plain_text(messages.target_is_you())})
        elif submission.intent == "park":
            await ack(response_action="update", view=done_modal("Parked", slack_messages.paragraphs_mrkdwn(messages.parked())))
        else:
            state = outcome.handoff
            said = messages.escalated(channel=state.card.channel if state.card else state.workspace.escalation_channel,
                                      notified_senior=state.target is not None, link_follows=True)
            await ack(response_action="update", view=done_modal("Escalated", slack_messages.paragraphs_mrkdwn(said)))

    # --- buttons ------------------------------------------------------------------------------

    async def on_pick_up(self, ack, body) -> None:
        """The claim is recorded before the ack when the database answers within the bound, so an acked
        click is never lost; a loser hears who won at once, privately, through the click's response_url."""
        handoff_id = handoff_uuid(button_value(body))
        if handoff_id is None:
            await ack()
            await self.tell(body, messages.not_found())
            return
        workspace = workspace_of(body)
        outcome = await self._recorded_then_acked(ack, self.handoffs.claim(
            workspace=workspace, person=person_of(body), handoff_id=handoff_id))
        if isinstance(outcome, Won) or (isinstance(outcome, Lost) and not outcome.first):
            return  # the card edit and the checklist are jobs the claim enqueued; a repeat loser was told already
        if isinstance(outcome, Lost):  # the thread's public record is a job the claim enqueued
            winner = await self.delivery.person_view(workspace.external_id, outcome.winner)
            message = messages.conflict_notice(winner=winner, claimed_at=outcome.claimed_at, now=self.handoffs.clock())
        elif isinstance(outcome, AlreadyYours):
            message = messages.already_yours(outcome.handoff)
        else:
            message = await self.refusal(body, outcome)
        await self.tell(body, message)

    async def _recorded_then_acked(self, ack, change):
        """Run a state change, ack once it is committed or after the bound (whichever is first), then
        return its outcome: within the bound an acked click is a recorded click."""
        recording = asyncio.ensure_future(change)
        await asyncio.wait({recording}, timeout=self.record_before_ack_s)
        await ack()
        return await recording

    async def on_release(self, ack, body) -> None:
        await self._owner_transition(ack, body, self.handoffs.release)

    async def on_resolve(self, ack, body) -> None:
        await self._owner_transition(ack, body, self.handoffs.resolve)

    async def _owner_transition(self, ack, body: dict[str, Any], transition) -> None:
        handoff_id = handoff_uuid(button_value(body))
        if handoff_id is None:
            await ack()
            await self.tell(body, messages.not_found())
            return
        outcome = await self._recorded_then_acked(ack, transition(
            workspace=workspace_of(body), person=person_of(body), handoff_id=handoff_id))
        if isinstance(outcome, Refused):
            await self.tell(body, await self.refusal(body, outcome))

    async def on_escalate_now(self, ack, body) -> None:
        handoff_id = handoff_uuid(button_value(body))
        if handoff_id is None:
            await ack()
            await self.tell(body, messages.not_found())
            return
        outcome = await self._recorded_then_acked(ack, self.handoffs.escalate_parked(
            workspace=workspace_of(body), person=person_of(body), handoff_id=handoff_id))
        if isinstance(outcome, Done):
            await self.tell(body, messages.escalated_now(outcome.handoff))
        elif isinstance(outcome, NoChannel):
            await self.tell(body, messages.no_channel(await self.handoffs.admins(workspace=workspace_of(body))))
        else:
            await self.tell(body, await self.refusal(body, outcome))

    async def on_snooze(self, ack, body) -> None:
        await ack()
        value, choice = split_choice(button_value(body))
        handoff_id = handoff_uuid(value)
        if handoff_id is None:
            await self.tell(body, messages.not_found())
            return
        workspace = workspace_of(body)
        outcome = await self.handoffs.snooze(workspace=workspace, person=person_of(body), handoff_id=handoff_id,
                                             choice=choice)
        if isinstance(outcome, Snoozed):
            await self.tell(body, reminder_messages.snoozed(outcome.handoff, until=outcome.until))
            return
        admins = await self.handoffs.admins(workspace=workspace) if outcome.reason == "not_author_or_admin" else ()
        await self.tell(body, messages.refusal(outcome, admins=admins))

    # --- events -------------------------------------------------------------------------------

    async def on_message(self, event, body) -> None:
        """The owner's first reply in the card's thread starts nothing new; it is just counted once."""
        thread_ts, user = event.get("thread_ts"), event.get("user")
        if event.get("subtype") or event.get("bot_id") or not thread_ts or not user or thread_ts == event.get("ts"):
            return
        workspace = workspace_of(body)
        state = await self.handoffs.find_by_card(workspace=workspace, message_ref=thread_ts)
        if state is not None and state.claimed_by is not None and state.claimed_by.external_id == user:
            await self.handoffs.record_first_action(workspace=workspace, person=PersonKey(user), handoff_id=state.id)
