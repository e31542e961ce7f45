"""The Teams agent: one on_turn that routes activities to a few short handlers.

Invokes are answered with their return value (the Teams "ack"): a claim is one transaction and a
render, nothing slower; posting, editing and thread replies happen later in jobs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, Attachment, InvokeResponse
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.connector import ConnectorClientBase

from bot.config import Settings
from bot.teams import activities as parse
from bot.teams.psa_admin import TeamsPsaAdmin
from cards import admin_messages, messages, reminder_messages, teams_messages, teams_settings
from cards import teams as cards
from cards import teams_psa
from cards.stats_messages import bad_window, parse_window, stats_message
from cards.teams_messages import plain_text
from cards.view import build_card_view
from core.delivery import PostedCard, copy_seen, handoff_uuid
from core.errors import DatabaseUnavailable
from core.handoffs import Handoffs
from core.models import (
    AlreadyYours, Done, HandoffState, Lost, NoChannel, PersonKey, Refused, Snoozed, Won, WorkspaceKey,
)
from core.snapshot import CheckTicket, Invalid, Snapshot, validate_snapshot
from db.tables import utcnow
from psa.settings import PsaSettings

log = logging.getLogger("handoff.teams")

def _acted_on(activity: Activity, data: dict[str, Any]) -> PostedCard | None:
    """The post whose card was acted on (an Action.Execute invoke's replyToId), when it is the root of its
    channel thread (Teams names that thread `<channel>;messageid=<root id>`), as every escalation card is.
    A message in a card's thread is never taken for a copy of the card, nor is a click on a message's own
    buttons (a nudge's, in the thread or in a chat: its data names the message)."""
    if data.get(teams_messages.MESSAGE_FIELD):
        return None
    conversation = activity.conversation.id if activity.conversation else ""
    root = (conversation or "").partition(";messageid=")[2]
    if not activity.reply_to_id or root != activity.reply_to_id:
        return None
    return PostedCard(message_ref=activity.reply_to_id, conversation_ref=conversation, service_url=activity.service_url)


def invoke_answer(body: Any, status: int = 200) -> Activity:
    return Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=status, body=body))


class HandoffAgent:
    def __init__(self, handoffs: Handoffs, settings: Settings, *, clock: Callable[[], datetime] = utcnow,
                 check_ticket: CheckTicket | None = None, psa: PsaSettings | None = None) -> None:
        self.handoffs = handoffs
        self.settings = settings
        self.clock = clock
        self.check_ticket = check_ticket  # the PSA's word on the ticket field, answered in the invoke
        self.psa = TeamsPsaAdmin(psa) if psa is not None else None  # the settings card's PSA connection

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
        role = parse.role_command(command)
        if "use this channel" in command:
            await context.send_activity(await self.use_this_channel(activity))
        elif role is not None:
            await context.send_activity(await self.give_role(activity, role, members=self._members(context)))
        elif command.split()[:1] == ["stats"]:
            await context.send_activity(await self.stats(activity, command[len("stats"):]))
        elif command == "settings":
            await context.send_activity(await self.settings_card(activity))
        elif "escalate" in command:
            launcher = Attachment(content_type=cards.CARD_CONTENT_TYPE,
                                  content=cards.launcher_card(plain_text(admin_messages.launcher())))
            await context.send_activity(Activity(type=ActivityTypes.message, attachments=[launcher]))
        else:
            await context.send_activity(plain_text(admin_messages.help_text()))

    async def use_this_channel(self, activity: Activity) -> str:
        """Admins move the channel. While the tenant has no channel (or nobody is an admin, as when the
        channel came from the environment), whoever sets it becomes the first admin: someone must."""
        workspace = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id)
        channel, person = parse.channel_id(activity), parse.person_key(activity)
        if workspace is None or channel is None or person is None:
            return plain_text(admin_messages.not_in_a_channel())
        reference = activity.get_conversation_reference()
        reference.conversation.id = channel  # cards start new threads in the channel, not in this one
        reference.activity_id = None
        change = await self.handoffs.set_channel(
            workspace=workspace,
            person=person,
            channel=channel,
            conversation_ref=reference.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
        if not change.changed:
            return plain_text(admin_messages.channel_admins_only(list(change.admins)))
        log.info("teams tenant %s: escalation channel set to %s by %s", workspace.external_id, channel, person.external_id)
        return plain_text(admin_messages.channel_set(first_admin=change.first_admin))

    @staticmethod
    def _members(context: TurnContext) -> Callable[[PersonKey], Awaitable[PersonKey]]:
        """Looks up a mentioned person's Entra object id (a mention carries only their `29:…` id) through
        the connector's conversation-member API, so a role lands on the row their clicks will use."""
        activity = context.activity

        async def lookup(person: PersonKey) -> PersonKey:
            if person.chat_id is not None or activity.conversation is None:
                return person
            client = context.services.get(ConnectorClientBase) if context.services else None
            if client is None:
                return person
            try:
                member = await client.conversations.get_conversation_member(activity.conversation.id, person.external_id)
            except Exception as error:  # the connector said no (or is down): keep the id we have
                log.warning("could not look up a mentioned member: %s", error.__class__.__name__)
                return person
            return parse.account_key(person.external_id, person.display_name or member.name, member.aad_object_id)

        return lookup

    async def give_role(self, activity: Activity, role: str, *,
                        members: Callable[[PersonKey], Awaitable[PersonKey]] | None = None) -> str:
        """'@Handoff make @Carol engineer': an admin sets the role of everyone they @mention."""
        workspace, admin = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id), parse.person_key(activity)
        people = parse.mentioned_people(activity)
        if members is not None:
            people = [await members(person) for person in people]
        if workspace is None or admin is None or not people:
            return plain_text(admin_messages.role_how())
        done = []
        for person in people:
            outcome = await self.handoffs.set_role(workspace=workspace, admin=admin, person=person, role=role)
            if isinstance(outcome, Refused):
                return plain_text(admin_messages.roles_admins_only(await self.handoffs.admins(workspace=workspace)))
            done.append(outcome)
        return plain_text(admin_messages.role_set(done, role))

    # --- stats and settings -----------------------------------------------------------------

    async def stats(self, activity: Activity, window: str, *, asked_for: str | None = None) -> Activity | str:
        workspace = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id)
        if workspace is None:
            return plain_text(messages.unknown_organisation())
        days = parse_window(window)
        if days is None:
            return plain_text(bad_window(window))
        stats = await self.handoffs.stats(workspace=workspace, days=days, asked_for=asked_for)
        if isinstance(stats, Refused):
            return plain_text(messages.refusal(stats))
        said = teams_messages.chat(stats_message(stats))
        return Activity(type=ActivityTypes.message, text=said.text)

    async def settings_card(self, activity: Activity, notice: str = "") -> Activity | str:
        workspace = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id)
        if workspace is None:
            return plain_text(messages.unknown_organisation())
        card = await self._settings(workspace, parse.person_key(activity), notice=notice)
        return Activity(type=ActivityTypes.message,
                        attachments=[Attachment(content_type=cards.CARD_CONTENT_TYPE, content=card)])

    async def _settings(self, workspace: WorkspaceKey, person: PersonKey | None, *, notice: str = "",
                        psa: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        schedule = await self.handoffs.reminder_schedule(workspace=workspace)
        if psa is None and self.psa is not None:
            psa = await self.psa.section(workspace, person)
        return teams_settings.settings_card(schedule, tenant_id=workspace.external_id, notice=notice, psa=psa)

    async def on_settings_action(self, activity: Activity, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        """Save the reminder schedule or the PSA connection (admins), or show stats, from the settings card."""
        workspace, person = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id), parse.person_key(activity)
        if workspace is None or person is None:
            return cards.message_response(plain_text(messages.unknown_organisation()))
        asked_for = str(data.get("workspace") or "")
        if verb == teams_settings.STATS_VERB:
            answer = await self.stats(activity, str(data.get("days") or ""), asked_for=asked_for)
            return cards.message_response(answer if isinstance(answer, str) else answer.text)
        if asked_for != workspace.external_id:
            return cards.message_response(plain_text(messages.refusal(Refused("other_workspace"))))
        if verb in teams_psa.VERBS:
            if self.psa is None:
                return cards.message_response(plain_text(messages.button_unsupported()))
            section = await self.psa.on_action(workspace, person, verb, data)
            return cards.card_response(await self._settings(workspace, person, psa=section))
        outcome = await self.handoffs.set_reminder_schedule(
            workspace=workspace, admin=person, schedule=str(data.get(teams_settings.SCHEDULE_INPUT) or ""))
        if isinstance(outcome, Refused):
            admins = await self.handoffs.admins(workspace=workspace)
            notice = plain_text(messages.refusal(outcome, admins=admins))
        else:
            notice = plain_text(reminder_messages.schedule_set(outcome))
        return cards.card_response(await self._settings(workspace, person, notice=notice))

    # --- the dialog ------------------------------------------------------------------------

    async def _workspace(self, activity: Activity) -> WorkspaceKey | None:
        """The tenant's workspace, with the configured channel (the core decides whether it applies)."""
        key = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id)
        if key is None:
            return None
        env_channel, env_url = self.settings.teams_channel_id, self.settings.teams_service_url
        if env_channel and env_url:
            reference = {"channelId": "msteams", "serviceUrl": env_url,
                         "conversation": {"id": env_channel, "tenantId": key.external_id}}
            await self.handoffs.register_workspace(key, channel=env_channel, conversation_ref=reference)
        return key

    async def on_dialog_submit(self, activity: Activity, data: dict[str, Any]) -> dict[str, Any]:
        dialog = str(data.get("dialog") or activity.id or uuid.uuid4().hex)
        fields = parse.dialog_fields(data)
        target_id = parse.dialog_target(data)
        values = {**fields, cards.TARGET_FIELD: target_id}  # what the user entered, kept if we re-show the form
        snapshot = validate_snapshot(fields)
        errors = teams_messages.field_errors(snapshot.errors) if isinstance(snapshot, Invalid) else {}
        target_problem = self._target_problem(target_id)
        if target_problem:
            errors[cards.TARGET_FIELD] = target_problem
        if errors:
            return cards.dialog_response(
                cards.escalation_form(dialog=dialog, values=values, errors=errors, notice=plain_text(messages.fix_fields()))
            )
        try:
            return await self._escalate(activity, dialog=dialog, values=values, snapshot=snapshot, target_id=target_id)
        except DatabaseUnavailable:  # nothing was stored: the same form again, saying so; the retry is keyed alike
            return cards.dialog_response(cards.escalation_form(
                dialog=dialog, values=values, notice=plain_text(messages.save_failed())))

    async def _escalate(self, activity: Activity, *, dialog: str, values: dict[str, Any], snapshot: Snapshot,
                        target_id: str) -> dict[str, Any]:
        workspace, author = await self._workspace(activity), parse.person_key(activity)
        if workspace is None or author is None:
            return cards.dialog_message(plain_text(messages.unknown_organisation()))
        if self.check_ticket is not None:
            snapshot = await self.check_ticket(workspace, snapshot)
            if isinstance(snapshot, Invalid):
                return cards.dialog_response(cards.escalation_form(
                    dialog=dialog, values=values, errors=teams_messages.field_errors(snapshot.errors),
                    notice=plain_text(messages.fix_fields())))
        target = PersonKey(target_id.lower()) if target_id else None
        outcome = await self.handoffs.escalate(
            workspace=workspace, author=author, snapshot=snapshot, target=target, idempotency_key=f"teams:dialog:{dialog}"
        )
        if isinstance(outcome, NoChannel):
            notice = plain_text(messages.no_channel(await self.handoffs.admins(workspace=workspace)))
            return cards.dialog_response(cards.escalation_form(dialog=dialog, values=values, notice=notice))
        if isinstance(outcome, Refused):  # the senior named is the author
            errors = {cards.TARGET_FIELD: plain_text(messages.refusal(outcome))}
            return cards.dialog_response(cards.escalation_form(dialog=dialog, values=values, errors=errors))
        state = outcome.handoff
        said = messages.escalated(channel=state.workspace.escalation_channel, notified_senior=target is not None,
                                  link_follows=False)
        return cards.dialog_message(plain_text(said))

    @staticmethod
    def _target_problem(target_id: str) -> str | None:
        """A choice not from the picker; naming yourself is refused by the core, on both platforms."""
        if target_id and not parse.is_object_id(target_id):
            return plain_text(messages.target_not_a_person())
        return None

    # --- card buttons (Universal Actions) ----------------------------------------------------

    def _card(self, state: HandoffState, *, viewer: str) -> dict[str, Any]:
        owner = state.claimed_by is not None and state.claimed_by.external_id == viewer
        return cards.card_response(cards.escalation_card(build_card_view(state, now=self.clock()), owner_view=owner))

    async def on_card_action(self, activity: Activity, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        if verb in (teams_settings.SETTINGS_VERB, teams_settings.STATS_VERB, *teams_psa.VERBS):
            return await self.on_settings_action(activity, verb, data)
        handoff_id = handoff_uuid(data.get("handoff_id"))
        workspace = parse.workspace_key(activity, self.settings.microsoft_app_tenant_id)
        person = parse.person_key(activity)
        if handoff_id is None or workspace is None or person is None:
            return cards.message_response(plain_text(messages.not_found()))
        if verb == "pickup":
            outcome = await self.handoffs.claim(workspace=workspace, person=person, handoff_id=handoff_id)
        elif verb in ("release", "resolve"):
            transition = getattr(self.handoffs, verb)
            outcome = await transition(workspace=workspace, person=person, handoff_id=handoff_id)
        elif verb == "snooze":
            outcome = await self.handoffs.snooze(workspace=workspace, person=person, handoff_id=handoff_id,
                                                 choice=data.get("choice"))
        elif verb == cards.REFRESH_VERB:
            state = await self.handoffs.get(workspace=workspace, handoff_id=handoff_id)
            if state is None:
                return cards.message_response(plain_text(messages.not_found()))
            return await self._unless_copy(activity, data, state, self._card(state, viewer=person.external_id))
        else:
            return cards.message_response(plain_text(messages.button_unsupported()))
        if isinstance(outcome, (Won, AlreadyYours, Lost, Done, Snoozed)):
            if data.get(teams_messages.MESSAGE_FIELD):  # Teams puts the answer in the clicked message's place
                return cards.card_response(teams_messages.card(
                    reminder_messages.nudge_clicked(outcome, now=self.clock())))
            return await self._unless_copy(activity, data, outcome.handoff,
                                           self._card(outcome.handoff, viewer=person.external_id))
        assert isinstance(outcome, Refused)
        seen = _acted_on(activity, data)
        if outcome.handoff is not None and seen is not None:
            await copy_seen(self.handoffs, outcome.handoff, seen)
        return cards.message_response(await self._refusal(workspace, outcome))  # leaves the card as it is

    async def _unless_copy(self, activity: Activity, data: dict[str, Any], state: HandoffState,
                           answer: dict[str, Any]) -> dict[str, Any]:
        """`answer` (the card as it is now), unless the card acted on is a copy of the handoff's card
        (posted twice when a post's answer was lost): then it is retired, and the answer, which Teams puts
        in that card's place, is the "duplicate of …" notice too, so the copy never comes back to life."""
        seen = _acted_on(activity, data)
        if seen is None or not await copy_seen(self.handoffs, state, seen):
            return answer
        notice = messages.duplicate_card(state, now=self.clock(), permalink=None)
        return cards.card_response(cards.notice_card(plain_text(notice)))

    async def _refusal(self, workspace: WorkspaceKey, refused: Refused) -> str:
        wants_admins = refused.reason in ("viewer", "not_author_or_admin")
        admins = await self.handoffs.admins(workspace=workspace) if wants_admins else ()
        return plain_text(messages.refusal(refused, admins=admins))
