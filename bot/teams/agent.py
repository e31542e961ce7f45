"""The Teams agent: one on_turn that routes activities to a few short handlers.

Invokes are answered with their return value (the Teams "ack"): a claim is one transaction and a
render, nothing slower; posting, editing and thread replies happen later in jobs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, Attachment, InvokeResponse
from microsoft_agents.hosting.core import TurnContext

from bot.config import Settings
from bot.teams import activities as parse
from cards import teams as cards
from cards.view import build_card_view
from core.delivery import handoff_uuid
from core.handoffs import Handoffs
from core.models import AlreadyYours, Done, HandoffState, Lost, NoChannel, Refused, Won, WorkspaceKey
from core.snapshot import Invalid, validate_snapshot
from db.tables import utcnow

log = logging.getLogger("handoff.teams")

REFUSALS = {
    "own_escalation": "You escalated this one yourself, so another engineer needs to pick it up.",
    "viewer": "Your role can view escalations but not pick them up. Ask a Handoff admin to make you an engineer.",
    "not_open": "This escalation is no longer open.",
    "not_found": "This escalation no longer exists.",
    "not_owner": "Only the engineer who picked this up can do that.",
    "not_author": "Only the person who escalated this can do that.",
}
HELP = ("Say **escalate** to hand a problem to a senior engineer. In the escalation channel, "
        "an admin can say **@Handoff use this channel** to send escalation cards there.")
NO_CHANNEL = ("No escalation channel is set up yet. Ask an admin to @mention Handoff with "
              "\"use this channel\" in the channel that should get escalations, then submit again.")


def invoke_answer(body: Any, status: int = 200) -> Activity:
    return Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=status, body=body))


class HandoffAgent:
    def __init__(self, handoffs: Handoffs, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.handoffs = handoffs
        self.settings = settings
        self.clock = clock

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        if activity.type == ActivityTypes.message:
            await self.on_message(context)
        elif activity.type == ActivityTypes.invoke:
            body = await self.on_invoke(activity)
            await context.send_activity(invoke_answer(*body) if isinstance(body, tuple) else invoke_answer(body))

    async def on_invoke(self, activity: Activity) -> Any:
        value = activity.value if isinstance(activity.value, dict) else {}
        name = activity.name or ""
        if name == "adaptiveCard/action":
            action = value.get("action") or {}
            return await self.on_card_action(activity, action.get("verb") or "", action.get("data") or {})
        if name == "task/fetch":
            return cards.dialog_response(cards.escalation_form(dialog=uuid.uuid4().hex))
        if name == "composeExtension/fetchTask":
            return cards.dialog_response(cards.escalation_form(dialog=uuid.uuid4().hex, values=parse.message_prefill(value)))
        if name in ("task/submit", "composeExtension/submitAction"):
            return await self.on_dialog_submit(activity, value.get("data") or {})
        return ({"error": f"unsupported invoke {name!r}"}, 501)

    # --- messages ------------------------------------------------------------------------

    async def on_message(self, context: TurnContext) -> None:
        activity = context.activity
        command = parse.command_text(activity)
        if "use this channel" in command:
            await context.send_activity(await self.use_this_channel(activity))
        elif "escalate" in command:
            launcher = Attachment(content_type=cards.CARD_CONTENT_TYPE, content=cards.launcher_card())
            await context.send_activity(Activity(type=ActivityTypes.message, attachments=[launcher]))
        else:
            await context.send_activity(HELP)

    async def use_this_channel(self, activity: Activity) -> str:
        workspace = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id)
        channel = parse.channel_id(activity)
        if workspace is None or channel is None:
            return "Say this in the channel that should get escalation cards (not in a chat)."
        reference = activity.get_conversation_reference()
        reference.conversation.id = channel  # cards start new threads in the channel, not in this one
        reference.activity_id = None
        await self.handoffs.register_workspace(
            workspace, channel=channel, conversation_ref=reference.model_dump(mode="json", by_alias=True, exclude_none=True)
        )
        log.info("teams tenant %s: escalation channel set to %s", workspace.external_id, channel)
        return "Done: escalation cards will be posted in this channel."

    # --- the dialog ------------------------------------------------------------------------

    async def _workspace(self, activity: Activity) -> WorkspaceKey | None:
        """The tenant's workspace; the channel from the environment applies until one is set in Teams."""
        key = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id)
        if key is None:
            return None
        env_channel, env_url = self.settings.teams_channel_id, self.settings.teams_service_url
        if env_channel and env_url:
            workspace = await self.handoffs.register_workspace(key)
            if not workspace.escalation_channel:
                reference = {"channelId": "msteams", "serviceUrl": env_url,
                             "conversation": {"id": env_channel, "tenantId": key.external_id}}
                await self.handoffs.register_workspace(key, channel=env_channel, conversation_ref=reference)
        return key

    async def on_dialog_submit(self, activity: Activity, data: dict[str, Any]) -> dict[str, Any]:
        dialog = str(data.get("dialog") or activity.id or uuid.uuid4().hex)
        fields = parse.dialog_fields(data)
        snapshot = validate_snapshot(fields)
        if isinstance(snapshot, Invalid):
            return cards.dialog_response(cards.escalation_form(dialog=dialog, values=fields, errors=snapshot.errors))
        workspace, author = await self._workspace(activity), parse.person_key(activity)
        if workspace is None or author is None:
            return cards.dialog_message("Handoff could not tell which organisation this came from.")
        outcome = await self.handoffs.escalate(
            workspace=workspace, author=author, snapshot=snapshot, idempotency_key=f"teams:dialog:{dialog}"
        )
        if isinstance(outcome, NoChannel):
            return cards.dialog_response(cards.escalation_form(dialog=dialog, values=fields, notice=NO_CHANNEL))
        return cards.dialog_message("Escalated. The card is in the escalation channel; you'll see who picks it up there.")

    # --- card buttons (Universal Actions) ----------------------------------------------------

    def _card(self, state: HandoffState, *, viewer: str) -> dict[str, Any]:
        owner = state.claimed_by is not None and state.claimed_by.external_id == viewer
        return cards.card_response(cards.escalation_card(build_card_view(state, now=self.clock()), owner_view=owner))

    async def on_card_action(self, activity: Activity, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        handoff_id = handoff_uuid(data.get("handoff_id"))
        workspace = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id)
        person = parse.person_key(activity)
        if handoff_id is None or workspace is None or person is None:
            return cards.message_response("This card is no longer valid.")
        if verb == "pickup":
            outcome = await self.handoffs.claim(workspace=workspace, person=person, handoff_id=handoff_id)
        elif verb in ("release", "resolve"):
            transition = getattr(self.handoffs, verb)
            outcome = await transition(workspace=workspace, person=person, handoff_id=handoff_id)
        elif verb == cards.REFRESH_VERB:
            state = await self.handoffs.get(workspace=workspace, handoff_id=handoff_id)
            return self._card(state, viewer=person.external_id) if state else cards.message_response(REFUSALS["not_found"])
        else:
            return cards.message_response("That button is not supported.")
        if isinstance(outcome, (Won, AlreadyYours, Lost, Done)):
            return self._card(outcome.handoff, viewer=person.external_id)
        assert isinstance(outcome, Refused)
        return cards.message_response(REFUSALS.get(outcome.reason, "That is not possible right now."))
