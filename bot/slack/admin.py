"""Setting Handoff up from Slack: `/escalate setup` (and App Home's Settings), `/escalate role @name role`.

Admins only, by the core's rules: the channel moves through `Handoffs.set_channel` (whoever sets it
while the workspace has no admin becomes its first admin, atomically) and roles through
`Handoffs.set_role`. The words come from cards/admin_messages.py, the blocks from cards/slack_settings.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.inflight import TrackedListeners
from slack_sdk.errors import SlackApiError

from bot.slack.payloads import (
    is_setup_command,
    parse_role_command,
    parse_settings,
    person_of,
    workspace_of,
)
from cards import admin_messages, messages, reminder_messages
from cards.messages import Message
from cards.slack_messages import plain_text
from cards.slack_settings import (
    CHANNEL_FIELD,
    OPEN_SETTINGS,
    REMINDERS_FIELD,
    ROLE_FIELD,
    ROLE_PEOPLE_FIELD,
    SETTINGS_MODAL,
    SettingsView,
    settings_modal,
    settings_result_modal,
    with_settings,
)
from cards.slack_views import home_view
from cards.stats_messages import week_at_a_glance
from cards.view import PersonView, build_card_view, person_view
from core.handoffs import Handoffs
from core.models import Person, PersonKey, Refused, WorkspaceKey
from manifest.slack import COMMAND
from psa.settings import PsaSettings

log = logging.getLogger("handoff.slack")
NAMES_WAIT_S = 1.0

Tell = Callable[[dict[str, Any], Message], Awaitable[None]]
Names = Callable[[str, Person], Awaitable[PersonView]]  # the name Slack shows (users.info)


class SlackAdmin:
    def __init__(self, *, handoffs: Handoffs, tell: Tell, names: Names, psa: PsaSettings | None = None) -> None:
        self.handoffs = handoffs
        self.tell = tell
        self.names = names
        self.psa = psa

    def register(self, app: TrackedListeners) -> None:
        """Before the generic /escalate listener: bolt runs the first listener whose matchers agree."""
        app.command(COMMAND, matchers=[self._is_admin_command])(self.on_command)
        app.view(SETTINGS_MODAL)(self.on_submit)
        app.action(OPEN_SETTINGS)(self.on_open_settings)
        app.event("app_home_opened")(self.on_home_opened)

    @staticmethod
    async def _is_admin_command(command: dict[str, Any]) -> bool:
        text = command.get("text") or ""
        return is_setup_command(text) or parse_role_command(text) is not None

    async def settings_view(self, workspace: WorkspaceKey, person: PersonKey) -> SettingsView:
        current = await self.handoffs.register_workspace(workspace)
        admins = await self.handoffs.admins(workspace=workspace)
        can_change = not admins or any(a.external_id == person.external_id for a in admins)
        reminders = await self.handoffs.reminder_schedule(workspace=workspace)
        psa = await self.psa.status(workspace) if self.psa is not None else None
        return SettingsView(current.escalation_channel, tuple(person_view(a) for a in admins), can_change, reminders,
                            psa)

    # --- /escalate setup, /escalate role ------------------------------------------------------------

    async def on_command(self, ack, body, command, client) -> None:
        await ack()
        text = command.get("text") or ""
        if is_setup_command(text):
            await self.open_settings(body, client, trigger_id=command["trigger_id"])
        else:
            await self.give_roles(body, text)

    async def on_open_settings(self, ack, body, client) -> None:
        await ack()
        await self.open_settings(body, client, trigger_id=body["trigger_id"])

    async def open_settings(self, body: dict[str, Any], client, *, trigger_id: str) -> None:
        view = await self.settings_view(workspace_of(body), person_of(body))
        if not view.can_change:
            await self.tell(body, admin_messages.channel_admins_only(
                await self.handoffs.admins(workspace=workspace_of(body))))
            return
        await client.views_open(trigger_id=trigger_id, view=settings_modal(view))

    async def give_roles(self, body: dict[str, Any], text: str) -> None:
        command = parse_role_command(text)
        if command is None or command.role is None:
            await self.tell(body, admin_messages.role_how())
            return
        outcome = await self._set_roles(workspace_of(body), person_of(body), command.people, command.role)
        await self.tell(body, outcome)

    async def _set_roles(self, workspace: WorkspaceKey, admin: PersonKey, people, role: str) -> Message:
        done = []
        for person in people:
            outcome = await self.handoffs.set_role(workspace=workspace, admin=admin, person=person, role=role)
            if isinstance(outcome, Refused):
                return admin_messages.roles_admins_only(await self.handoffs.admins(workspace=workspace))
            done.append(outcome)
        log.info("slack workspace %s: %s made %s by %s", workspace.external_id,
                 ", ".join(p.external_id for p in done), role, admin.external_id)
        return admin_messages.role_set(await self._named(workspace, done), role)

    async def _named(self, workspace: WorkspaceKey, people: list[Person]) -> list[PersonView]:
        """Slack's names for the people (users.info, in parallel), within NAMES_WAIT_S: this can run before a
        modal's ack, so past that the stored names do."""
        try:
            return list(await asyncio.wait_for(asyncio.gather(
                *(self.names(workspace.external_id, p) for p in people)), NAMES_WAIT_S))
        except asyncio.TimeoutError:
            return [person_view(p) for p in people]

    # --- the settings modal --------------------------------------------------------------------------

    async def on_submit(self, ack, body, view, client) -> None:
        """Changes are saved before the ack (the answer says what happened); the check that the bot
        can post in the new channel is a Slack call, so it comes after and updates the answer."""
        workspace, person, choice = workspace_of(body), person_of(body), parse_settings(view)
        done: list[Message] = []
        errors: dict[str, str] = {}
        moved_to = None
        current = (await self.handoffs.register_workspace(workspace)).escalation_channel
        if choice.channel and choice.channel != current:
            change = await self.handoffs.set_channel(workspace=workspace, person=person, channel=choice.channel)
            if change.changed:
                moved_to = choice.channel
                done.append(admin_messages.channel_set(first_admin=change.first_admin, channel=choice.channel))
                log.info("slack workspace %s: escalation channel set to %s by %s%s", workspace.external_id,
                         choice.channel, person.external_id, " (first admin)" if change.first_admin else "")
            else:
                errors[CHANNEL_FIELD] = plain_text(admin_messages.channel_admins_only(change.admins))
        elif choice.channel:
            done.append(admin_messages.channel_unchanged(choice.channel))
        if not errors and (choice.people or choice.role):
            if not (choice.people and choice.role):
                errors[ROLE_FIELD if choice.people else ROLE_PEOPLE_FIELD] = plain_text(admin_messages.role_how())
            else:
                outcome = await self._set_roles(workspace, person, choice.people, choice.role)
                if outcome.kind == "role.set":
                    done.append(outcome)
                else:
                    errors[ROLE_PEOPLE_FIELD] = plain_text(outcome)
        if not errors and choice.reminders is not None:
            await self._set_reminders(workspace, person, choice.reminders, done, errors)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        saved = admin_messages.settings_saved(done)
        await ack(response_action="update", view=settings_result_modal(saved))
        if moved_to is not None and not await self._can_post(client, moved_to):
            await client.views_update(view_id=view["id"], view=settings_result_modal(
                saved, warning=admin_messages.not_in_channel(moved_to)))
        await self.publish_home(client, workspace, person)

    async def _set_reminders(self, workspace: WorkspaceKey, person: PersonKey, typed: str, done: list[Message],
                             errors: dict[str, str]) -> None:
        """The reminder schedule, when it changed (admins only; a bad one is answered in the modal)."""
        current = await self.handoffs.reminder_schedule(workspace=workspace)
        if typed.replace(" ", "") == current.schedule or (not typed.strip() and current.is_default):
            return
        outcome = await self.handoffs.set_reminder_schedule(workspace=workspace, admin=person, schedule=typed)
        if isinstance(outcome, Refused):
            admins = await self.handoffs.admins(workspace=workspace)
            errors[REMINDERS_FIELD] = plain_text(messages.refusal(outcome, admins=admins))
        else:
            done.append(reminder_messages.schedule_set(outcome))

    @staticmethod
    async def _can_post(client, channel: str) -> bool:
        """conversations.history answers not_in_channel when the bot is not a member (no extra scope)."""
        try:
            await client.conversations_history(channel=channel, limit=1)
        except SlackApiError as error:
            return (error.response.get("error") if error.response is not None else "") not in (
                "not_in_channel", "channel_not_found")
        return True

    # --- App Home ------------------------------------------------------------------------------------

    async def on_home_opened(self, event, body, client) -> None:
        if event.get("tab") == "home":
            await self.publish_home(client, workspace_of(body), PersonKey(event["user"]))

    async def publish_home(self, client, workspace: WorkspaceKey, person: PersonKey) -> None:
        now = self.handoffs.clock()
        queue = await self.handoffs.queue(workspace=workspace, viewer=person)
        week = await self.handoffs.stats(workspace=workspace, days=7)
        home = home_view([build_card_view(h, now=now) for h in queue], week=week_at_a_glance(week),
                         team_id=workspace.external_id)
        settings = await self.settings_view(workspace, person)
        await client.views_publish(user_id=person.external_id, view=with_settings(home, settings))
