"""Slack listeners: ack first, translate, call the core, say what happened. No domain rules here."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.slack.delivery import SlackDelivery
from bot.slack.payloads import (
    EXCERPT_MESSAGES,
    ModalContext,
    button_value,
    channel_of,
    excerpt_from,
    modal_errors,
    parse_submission,
    person_of,
    workspace_of,
)
from cards.slack_views import (
    ESCALATE_MODAL,
    ModalPrefill,
    done_modal,
    escalate_modal,
    home_view,
    list_blocks,
    list_fallback_text,
)
from cards.view import STATUS_LABELS, build_card_view
from core.delivery import handoff_uuid
from core.errors import DatabaseUnavailable
from core.handoffs import Handoffs
from core.models import AlreadyYours, Done, Lost, NoChannel, PersonKey, Refused, Won
from core.snapshot import FIELD_LIMITS, Invalid, validate_snapshot
from manifest.slack import COMMAND, THREAD_SHORTCUT  # what the app manifest registers with Slack

log = logging.getLogger("handoff.slack")

OWN_ESCALATION = "You escalated this one — a teammate needs to pick it up."
VIEWER = "You have view-only access in Handoff, so you can't pick up escalations. Ask an admin if that's wrong."
NOT_FOUND = "I can't find that escalation any more."
ALREADY_YOURS = "It's already yours."
NO_CHANNEL = ("No escalation channel is set up for this workspace yet: ask an admin to set "
              "HANDOFF_SLACK_CHANNEL. Your text is still here.")
NOT_IN_CHANNEL = ("I'm not in this channel, so only this message is included. To include the whole "
                  "thread next time, invite me with /invite @Handoff.")
SAVE_FAILED = "Couldn't save that just now (the database is unavailable). Your text is still here: try Send again."


def refusal_text(refused: Refused) -> str:
    state = refused.handoff
    if refused.reason == "own_escalation":
        return OWN_ESCALATION
    if refused.reason == "viewer":
        return VIEWER
    if refused.reason == "not_found" or state is None:
        return NOT_FOUND
    if refused.reason == "not_owner":
        if state.claimed_by is None:
            return "Nobody has picked this up yet, so there is nothing to release or resolve."
        return f"Only <@{state.claimed_by.external_id}> can release or resolve this: they picked it up."
    if refused.reason == "not_author":
        return "Only the person who parked this can escalate it."
    return f"This escalation is already {STATUS_LABELS.get(state.status, state.status).lower()}."


class SlackHandlers:
    def __init__(self, *, handoffs: Handoffs, delivery: SlackDelivery, after_ack_limit: int = 4) -> None:
        self.handoffs = handoffs
        self.delivery = delivery
        # Work after an ack waits its turn here, so a burst of clicks leaves the event loop free to
        # answer the rest of the burst first (the acks are what Slack times).
        self.after_ack = asyncio.Semaphore(after_ack_limit)

    def register(self, app: AsyncApp) -> None:
        app.command(COMMAND)(self.on_escalate)
        app.shortcut(THREAD_SHORTCUT)(self.on_escalate_thread)
        app.view(ESCALATE_MODAL)(self.on_submit)
        app.action("handoff_pickup")(self.on_pick_up)
        app.action("handoff_release")(self.on_release)
        app.action("handoff_resolve")(self.on_resolve)
        app.action("handoff_escalate_now")(self.on_escalate_now)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home_opened)

    async def tell(self, body: dict[str, Any], text: str) -> None:
        await self.delivery.tell(workspace_of(body).external_id, user=person_of(body).external_id,
                                 text=text, channel=channel_of(body))

    # --- /escalate and the modal ------------------------------------------------------------------

    async def on_escalate(self, ack, body, command, client) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() == "list":
            await ack(**await self.list_answer(body))  # a quick read, answered in the ack itself
            return
        await ack()
        context = ModalContext(channel=command.get("channel_id"))
        view = escalate_modal(ModalPrefill(summary=text), private_metadata=context.encode())
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    async def list_answer(self, body: dict[str, Any]) -> dict[str, Any]:
        workspace, person = workspace_of(body), person_of(body)
        now = self.handoffs.clock()
        parked = [build_card_view(h, now=now) for h in await self.handoffs.parked(workspace=workspace, person=person)]
        queue = [build_card_view(h, now=now) for h in await self.handoffs.queue(workspace=workspace, viewer=person)]
        return {"response_type": "ephemeral", "text": list_fallback_text(parked=parked, queue=queue),
                "blocks": list_blocks(parked=parked, queue=queue)}

    async def on_escalate_thread(self, ack, body, client) -> None:
        """Message shortcut: the same modal, prefilled from the message, then enriched with the thread."""
        await ack()
        message, channel = body.get("message") or {}, channel_of(body)
        prefill = ModalPrefill(summary=(message.get("text") or "")[: FIELD_LIMITS["summary"][1]])
        opened = await client.views_open(
            trigger_id=body["trigger_id"],
            view=escalate_modal(prefill, private_metadata=ModalContext(channel).encode(), notice="Reading the thread…"),
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
            notice = NOT_IN_CHANNEL if code in ("not_in_channel", "channel_not_found") else \
                "Couldn't read the thread just now, so only this message is included."
            return ModalContext(channel, link, single), notice
        messages = replies.get("messages") or [message]
        return ModalContext(channel, link, excerpt_from(messages)), f"Includes {len(messages)} message(s) from the thread."

    async def on_submit(self, ack, body, view) -> None:
        """Validation errors go back inside the modal (in the ack); the handoff is keyed on view.id."""
        submission = parse_submission(view)
        snapshot = validate_snapshot(submission.fields)
        if isinstance(snapshot, Invalid):
            await ack(response_action="errors", errors=modal_errors(snapshot.errors))
            return
        workspace, author = workspace_of(body), person_of(body)
        target = PersonKey(submission.target) if submission.target else None
        create = self.handoffs.park if submission.intent == "park" else self.handoffs.escalate
        try:
            outcome = await create(workspace=workspace, author=author, snapshot=snapshot, target=target,
                                   idempotency_key=f"view:{view['id']}")
        except DatabaseUnavailable:
            await ack(response_action="errors", errors={"summary": SAVE_FAILED})
            return
        if isinstance(outcome, NoChannel):
            await ack(response_action="errors", errors={"summary": NO_CHANNEL})
        elif submission.intent == "park":
            await ack(response_action="update", view=done_modal(
                "Parked", "Parked for later. `/escalate list` shows it, with an *Escalate now* button."))
        else:
            channel = outcome.handoff.card.channel if outcome.handoff.card else outcome.handoff.workspace.escalation_channel
            await ack(response_action="update", view=done_modal(
                "Escalated", f"Sent to <#{channel}>. I'll message you a link to the card as soon as it's posted."))

    # --- buttons ------------------------------------------------------------------------------

    async def on_pick_up(self, ack, body) -> None:
        await ack()
        handoff_id = handoff_uuid(button_value(body))
        if handoff_id is None:
            await self.tell(body, NOT_FOUND)
            return
        async with self.after_ack:
            outcome = await self.handoffs.claim(workspace=workspace_of(body), person=person_of(body), handoff_id=handoff_id)
        if isinstance(outcome, (Won, Lost)):
            return  # the card edit, the checklist and the conflict reply are jobs the claim enqueued
        await self.tell(body, ALREADY_YOURS if isinstance(outcome, AlreadyYours) else refusal_text(outcome))

    async def on_release(self, ack, body) -> None:
        await ack()
        await self._owner_transition(body, self.handoffs.release)

    async def on_resolve(self, ack, body) -> None:
        await ack()
        await self._owner_transition(body, self.handoffs.resolve)

    async def _owner_transition(self, body: dict[str, Any], transition) -> None:
        handoff_id = handoff_uuid(button_value(body))
        if handoff_id is None:
            await self.tell(body, NOT_FOUND)
            return
        outcome = await transition(workspace=workspace_of(body), person=person_of(body), handoff_id=handoff_id)
        if isinstance(outcome, Refused):
            await self.tell(body, refusal_text(outcome))

    async def on_escalate_now(self, ack, body) -> None:
        await ack()
        handoff_id = handoff_uuid(button_value(body))
        if handoff_id is None:
            await self.tell(body, NOT_FOUND)
            return
        outcome = await self.handoffs.escalate_parked(workspace=workspace_of(body), person=person_of(body),
                                                      handoff_id=handoff_id)
        if isinstance(outcome, Done):
            await self.tell(body, f"Escalated: the card is going to <#{outcome.handoff.workspace.escalation_channel}>.")
        elif isinstance(outcome, NoChannel):
            await self.tell(body, NO_CHANNEL.replace(" Your text is still here.", ""))
        else:
            await self.tell(body, refusal_text(outcome))

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

    async def on_home_opened(self, event, body, client) -> None:
        if event.get("tab") != "home":
            return
        now = self.handoffs.clock()
        queue = await self.handoffs.queue(workspace=workspace_of(body), viewer=PersonKey(event["user"]))
        await client.views_publish(user_id=event["user"], view=home_view([build_card_view(h, now=now) for h in queue]))
