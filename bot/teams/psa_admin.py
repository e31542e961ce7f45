"""The PSA connection from the Teams settings card: pick the PSA, save, test, remove. Admins only.

Translates only: the rules and outcomes are psa/settings.py (core/psa_form.py), the words
cards/psa_messages.py rendered for Teams, the card's part cards/teams_psa.py. The answer is the settings
card again, with what happened in the PSA part (a test is one short call to the PSA, answered in the invoke).
"""

from __future__ import annotations

from typing import Any

from cards import messages, psa_messages
from cards import teams_psa
from cards.teams_messages import plain_text
from core.models import PersonKey, Refused, WorkspaceKey
from core.psa_form import ASSIGN, FormProblems, NoSecretKey, PsaSaved
from psa.settings import PsaSettings


class TeamsPsaAdmin:
    def __init__(self, psa: PsaSettings) -> None:
        self.psa = psa

    async def _is_admin(self, workspace: WorkspaceKey, person: PersonKey | None) -> bool:
        admins = await self.psa.handoffs.admins(workspace=workspace)
        return person is not None and any(a.external_id == person.external_id for a in admins)

    async def section(self, workspace: WorkspaceKey, person: PersonKey | None, *, kind: str | None = None,
                      errors: dict[str, str] | None = None, notice: str = "", good: bool = True) -> list[dict[str, Any]]:
        """The card's PSA part as `person` sees it now (the form for admins only)."""
        return teams_psa.psa_section(await self.psa.status(workspace), tenant_id=workspace.external_id,
                                     can_change=await self._is_admin(workspace, person), kind=kind,
                                     errors=errors, notice=notice, good=good)

    async def on_action(self, workspace: WorkspaceKey, person: PersonKey, verb: str,
                        data: dict[str, Any]) -> list[dict[str, Any]]:
        chosen = str(data.get(teams_psa.KIND_INPUT) or "")
        if verb == teams_psa.KIND_VERB:
            return await self.section(workspace, person, kind=chosen)
        if verb == teams_psa.SAVE_VERB:
            kind = str(data.get(teams_psa.FORM_KIND) or chosen)
            return await self._save(workspace, person, kind, teams_psa.typed_fields(data, kind))
        if verb == teams_psa.ASSIGN_VERB:
            return await self._set_assign(workspace, person, str(data.get(teams_psa.input_id(ASSIGN)) or ""))
        if verb == teams_psa.TEST_VERB:
            result = await self.psa.test(workspace=workspace, person=person)
            if isinstance(result, Refused):
                return await self._refused(workspace, person, result)
            return await self.section(workspace, person, notice=plain_text(psa_messages.test_result(result)),
                                      good=result.outcome == "works")
        outcome = await self.psa.remove(workspace=workspace, person=person)
        if isinstance(outcome, Refused):
            return await self._refused(workspace, person, outcome)
        return await self.section(workspace, person, notice=plain_text(psa_messages.removed(outcome)))

    async def _save(self, workspace: WorkspaceKey, person: PersonKey, kind: str,
                    typed: dict[str, str]) -> list[dict[str, Any]]:
        outcome = await self.psa.save(workspace=workspace, person=person, kind=kind, typed=typed)
        if isinstance(outcome, Refused):
            return await self._refused(workspace, person, outcome)
        if isinstance(outcome, NoSecretKey):
            return await self.section(workspace, person, kind=kind, notice=plain_text(psa_messages.no_secret_key()),
                                      good=False)
        if isinstance(outcome, FormProblems):
            errors = {name: plain_text(psa_messages.field_problem(kind, name, code))
                      for name, code in outcome.problems.items()}
            notice = errors.pop("kind", None) or plain_text(psa_messages.fix_fields())
            return await self.section(workspace, person, kind=kind, errors=errors, notice=notice, good=False)
        assert isinstance(outcome, PsaSaved)
        saved = plain_text(psa_messages.saved(outcome.status))
        result = await self.psa.test(workspace=workspace, person=person)
        tested = "" if isinstance(result, Refused) else plain_text(psa_messages.test_result(result))
        return await self.section(workspace, person, notice=f"{saved}\n\n{tested}".strip(),
                                  good=isinstance(result, Refused) or result.outcome == "works")

    async def _set_assign(self, workspace: WorkspaceKey, person: PersonKey, value: str) -> list[dict[str, Any]]:
        if value not in ("true", "false"):  # a card without the toggle: nothing to save
            return await self.section(workspace, person)
        outcome = await self.psa.set_assign(workspace=workspace, person=person, assign=value == "true")
        if isinstance(outcome, Refused):
            return await self._refused(workspace, person, outcome)
        return await self.section(workspace, person, notice=plain_text(psa_messages.assign_set(outcome.status)))

    async def _refused(self, workspace: WorkspaceKey, person: PersonKey, refused: Refused) -> list[dict[str, Any]]:
        admins = await self.psa.handoffs.admins(workspace=workspace)
        return await self.section(workspace, person, notice=plain_text(messages.refusal(refused, admins=admins)),
                                  good=False)
