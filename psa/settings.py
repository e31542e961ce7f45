"""Admins set their workspace's PSA connection from the settings (Slack App Home, the Teams settings card).

Commands in, values out (core/psa_form.py): save, remove and test are for Handoff admins only (anyone else
gets Refused("not_admin"), as for every setting); the form's rules are core/psa_form.check_form; secrets are
sealed by the Directory's Vault, and without HANDOFF_SECRET_KEY nothing is stored (NoSecretKey). The test
makes one authenticated call (a ticket look-up) and says whether the PSA accepted the credentials. No
value returned here holds a secret.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp

from cards.psa_messages import no_answer_within
from core.handoffs import Handoffs
from core.models import Person, PersonKey, Refused, WorkspaceKey
from core.psa_form import (
    AssignSet, FormProblems, NoSecretKey, PsaRemoved, PsaSaved, PsaStatus, PsaTestResult, check_form,
)
from psa.client import TicketRef
from psa.connection import ConfigError, PsaConnection
from psa.directory import Directory
from psa.http import PsaRejected, PsaUnavailable

log = logging.getLogger("handoff.psa")
PROBE = TicketRef("id", "1")  # any ticket: found or not, the PSA has checked the credentials


class PsaSettings:
    def __init__(self, handoffs: Handoffs, directory: Directory, *, timeout_s: float = 5.0,
                 session_factory: Callable[[], aiohttp.ClientSession] = aiohttp.ClientSession) -> None:
        self.handoffs = handoffs
        self.directory = directory
        self.timeout_s = timeout_s
        self.session_factory = session_factory

    async def status(self, workspace: WorkspaceKey) -> PsaStatus:
        ws = await self.handoffs.register_workspace(workspace)
        return await self.directory.status(ws.id)

    async def _admin(self, workspace: WorkspaceKey, person: PersonKey) -> Person | None:
        admins = await self.handoffs.admins(workspace=workspace)
        return next((a for a in admins if a.external_id == person.external_id), None)

    async def save(self, *, workspace: WorkspaceKey, person: PersonKey, kind: str,
                   typed: dict[str, str]) -> PsaSaved | FormProblems | NoSecretKey | Refused:
        admin = await self._admin(workspace, person)
        if admin is None:
            return Refused("not_admin")
        if self.directory.vault is None:
            return NoSecretKey()
        ws = await self.handoffs.register_workspace(workspace)
        form = check_form(kind, typed, saved=await self._saved_values(ws.id, kind))
        if isinstance(form, FormProblems):
            return form
        connection = PsaConnection(form.kind, form.settings, form.secrets, assign=form.assign)
        await self.directory.save(workspace_id=ws.id, connection=connection, by=admin, now=self.handoffs.clock())
        log.info("%s workspace %s: PSA connection set to %s by %s", workspace.platform, workspace.external_id,
                 connection.describe(), person.external_id)
        return PsaSaved(await self.directory.status(ws.id))

    async def _saved_values(self, workspace_id: int, kind: str) -> dict[str, str]:
        """The stored connection's values, when it is of `kind` (blank secret fields keep them)."""
        try:
            stored = await self.directory.stored(workspace_id)
        except ConfigError:  # sealed under another key: the admin types the secrets again
            return {}
        if stored is None or stored.kind != kind:
            return {}
        return {**stored.settings, **stored.secrets}

    async def set_assign(self, *, workspace: WorkspaceKey, person: PersonKey, assign: bool) -> AssignSet | Refused:
        """Turn assigning the ticket on pick-up on or off for this workspace, whichever connection applies (the
        environment's needs no credentials typed; a stored one keeps its own)."""
        admin = await self._admin(workspace, person)
        if admin is None:
            return Refused("not_admin")
        ws = await self.handoffs.register_workspace(workspace)
        await self.directory.set_assign(workspace_id=ws.id, assign=assign, by=admin, now=self.handoffs.clock())
        log.info("%s workspace %s: PSA ticket assignment turned %s by %s", workspace.platform, workspace.external_id,
                 "on" if assign else "off", person.external_id)
        return AssignSet(await self.directory.status(ws.id))

    async def remove(self, *, workspace: WorkspaceKey, person: PersonKey) -> PsaRemoved | Refused:
        admin = await self._admin(workspace, person)
        if admin is None:
            return Refused("not_admin")
        ws = await self.handoffs.register_workspace(workspace)
        had_one = await self.directory.remove(workspace_id=ws.id, by=admin, now=self.handoffs.clock())
        if had_one:
            log.info("%s workspace %s: PSA connection removed by %s", workspace.platform, workspace.external_id,
                     person.external_id)
        return PsaRemoved(had_one, await self.directory.status(ws.id))

    async def test(self, *, workspace: WorkspaceKey, person: PersonKey) -> PsaTestResult | Refused:
        """One authenticated call against the connection the workspace uses (its own, else the environment's)."""
        if await self._admin(workspace, person) is None:
            return Refused("not_admin")
        ws = await self.handoffs.register_workspace(workspace)
        try:
            connection = await self.directory.for_workspace(ws.id)
        except ConfigError:
            return PsaTestResult("unreadable")
        if connection is None:
            return PsaTestResult("none")
        try:
            return await asyncio.wait_for(self._probe(connection), timeout=self.timeout_s + 1)
        except (TimeoutError, asyncio.TimeoutError):
            return PsaTestResult("unreachable", connection.kind, detail=no_answer_within(self.timeout_s))

    async def _probe(self, connection: PsaConnection) -> PsaTestResult:
        kind = connection.kind
        async with self.session_factory() as session:
            client = connection.client(session, timeout_s=self.timeout_s, cache={})
            try:
                await client.find_ticket(PROBE)
            except PsaRejected as error:
                if error.status in (401, 403):
                    return PsaTestResult("rejected", kind, status=error.status)
                return PsaTestResult("refused", kind, status=error.status, detail=str(error))
            except PsaUnavailable as error:
                return PsaTestResult("unreachable", kind, detail=error.why)
        return PsaTestResult("works", kind)
