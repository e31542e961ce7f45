"""The PSA connection from Slack's App Home: set up (a modal per PSA), test, remove. Admins only.

Translates only: the rules and outcomes are psa/settings.py (core/psa_form.py), the words
cards/psa_messages.py, the blocks cards/slack_psa.py. Every click from App Home is answered in a modal
(App Home has no channel to answer in): opened at once with the trigger, updated when a slow call is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.inflight import TrackedListeners

from bot.slack.payloads import person_of, workspace_of
from cards import messages, psa_messages
from cards.messages import Message
from cards.slack_messages import plain_text
from cards.slack_psa import (
    FIELD_PREFIX, OPEN_PSA, PSA_KIND, PSA_MODAL, REMOVE_PSA, SET_ASSIGN, TEST_PSA, block_id, psa_modal,
    psa_result_modal,
)
from core.models import PersonKey, Refused, WorkspaceKey
from core.psa_form import KINDS, FormProblems, NoSecretKey, PsaSaved, fields_of
from psa.settings import PsaSettings

Home = Callable[[Any, WorkspaceKey, PersonKey], Awaitable[None]]  # re-publish App Home


class SlackPsaAdmin:
    def __init__(self, *, psa: PsaSettings, refresh_home: Home) -> None:
        self.psa = psa
        self.refresh_home = refresh_home

    def register(self, app: TrackedListeners) -> None:
        app.action(OPEN_PSA)(self.on_open)
        app.action(PSA_KIND)(self.on_kind)
        app.view(PSA_MODAL)(self.on_submit)
        app.action(TEST_PSA)(self.on_test)
        app.action(REMOVE_PSA)(self.on_remove)
        app.action(SET_ASSIGN)(self.on_assign)

    async def _refusal(self, workspace: WorkspaceKey, refused: Refused) -> Message:
        return messages.refusal(refused, admins=await self.psa.handoffs.admins(workspace=workspace))

    async def _is_admin(self, workspace: WorkspaceKey, person: PersonKey) -> bool:
        admins = await self.psa.handoffs.admins(workspace=workspace)
        return any(a.external_id == person.external_id for a in admins)

    async def on_open(self, ack, body, client) -> None:
        await ack()
        workspace, person = workspace_of(body), person_of(body)
        if not await self._is_admin(workspace, person):
            view = psa_result_modal(await self._refusal(workspace, Refused("not_admin")))
        else:
            view = psa_modal(await self.psa.status(workspace))
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    async def on_kind(self, ack, body, client) -> None:
        """Another PSA picked in the modal: the same modal with that PSA's fields."""
        await ack()
        kind = ((body.get("actions") or [{}])[0].get("selected_option") or {}).get("value")
        view = body.get("view") or {}
        if kind not in KINDS or not view.get("id"):
            return
        status = await self.psa.status(workspace_of(body))
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=psa_modal(status, kind))

    async def on_submit(self, ack, body, view, client) -> None:
        """Saved before the ack (a quick write); the errors are answered in the ack. The test after a save is
        a call to the PSA, so it comes after and updates the answer."""
        workspace, person = workspace_of(body), person_of(body)
        kind = view.get("private_metadata") or ""
        first = block_id(fields_of(kind)[0]) if kind in KINDS else FIELD_PREFIX + "url"
        outcome = await self.psa.save(workspace=workspace, person=person, kind=kind, typed=parse_psa_form(view))
        if isinstance(outcome, Refused):
            await ack(response_action="errors", errors={first: plain_text(await self._refusal(workspace, outcome))})
            return
        if isinstance(outcome, NoSecretKey):
            await ack(response_action="errors", errors={first: plain_text(psa_messages.no_secret_key())})
            return
        if isinstance(outcome, FormProblems):
            errors = {block_id(name) if name != "kind" else first: plain_text(psa_messages.field_problem(kind, name, code))
                      for name, code in outcome.problems.items()}
            await ack(response_action="errors", errors=errors)
            return
        assert isinstance(outcome, PsaSaved)
        saved = psa_messages.saved(outcome.status)
        await ack(response_action="update", view=psa_result_modal(saved, psa_messages.testing()))
        await self.refresh_home(client, workspace, person)
        await self._tested(client, view["id"], workspace, person, saved)

    async def on_test(self, ack, body, client) -> None:
        await ack()
        workspace, person = workspace_of(body), person_of(body)
        if not await self._is_admin(workspace, person):
            refusal = await self._refusal(workspace, Refused("not_admin"))
            await client.views_open(trigger_id=body["trigger_id"], view=psa_result_modal(refusal))
            return
        opened = await client.views_open(trigger_id=body["trigger_id"], view=psa_result_modal(psa_messages.testing()))
        await self._tested(client, opened["view"]["id"], workspace, person)

    async def _tested(self, client, view_id: str, workspace: WorkspaceKey, person: PersonKey, *before: Message) -> None:
        result = await self.psa.test(workspace=workspace, person=person)
        said = await self._refusal(workspace, result) if isinstance(result, Refused) else psa_messages.test_result(result)
        await client.views_update(view_id=view_id, view=psa_result_modal(*before, said))

    async def on_assign(self, ack, body, client) -> None:
        """App Home's ticket-owner checkbox, ticked or unticked: saved for the workspace, said in a modal."""
        await ack()
        workspace, person = workspace_of(body), person_of(body)
        ticked = bool(((body.get("actions") or [{}])[0]).get("selected_options"))
        outcome = await self.psa.set_assign(workspace=workspace, person=person, assign=ticked)
        said = await self._refusal(workspace, outcome) if isinstance(outcome, Refused) else \
            psa_messages.assign_set(outcome.status)
        await client.views_open(trigger_id=body["trigger_id"], view=psa_result_modal(said))
        await self.refresh_home(client, workspace, person)

    async def on_remove(self, ack, body, client) -> None:
        await ack()
        workspace, person = workspace_of(body), person_of(body)
        outcome = await self.psa.remove(workspace=workspace, person=person)
        said = await self._refusal(workspace, outcome) if isinstance(outcome, Refused) else psa_messages.removed(outcome)
        await client.views_open(trigger_id=body["trigger_id"], view=psa_result_modal(said))
        await self.refresh_home(client, workspace, person)


def parse_psa_form(view: dict[str, Any]) -> dict[str, str]:
    """The PSA modal's inputs: field name -> what was typed ('' for an empty input)."""
    values = (view.get("state") or {}).get("values") or {}
    typed: dict[str, str] = {}
    for block, entries in values.items():
        if block.startswith(FIELD_PREFIX) and isinstance(entries, dict):
            name = block[len(FIELD_PREFIX):]
            entry = entries.get(name) or {}
            if "selected_options" in entry:  # a checkbox (the assign switch): "true" when ticked
                typed[name] = "true" if entry["selected_options"] else "false"
            else:
                typed[name] = str(entry.get("value") or "")
    return typed
