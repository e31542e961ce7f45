"""Checking a ticket reference while the escalation form is submitted: best effort, short timeout.

Outcomes are values: a TicketProblem (bad form, no such ticket, closed) that the adapters show as the
ticket field's error in the words of cards/psa_messages.py, or a line on the card (title and company, or
"not checked" when the PSA cannot answer in time). A check that cannot be made never blocks the
escalation: the notes are still written later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

import aiohttp

from core.handoffs import Handoffs
from core.models import WorkspaceKey
from core.psa_form import TicketProblem
from core.snapshot import Snapshot
from psa.client import BadRef, Ticket
from psa.connection import ConfigError
from psa.directory import Directory
from psa.http import PsaRejected, PsaUnavailable


@dataclass(frozen=True)
class Checked:
    ticket: Ticket


@dataclass(frozen=True)
class Unchecked:
    """No PSA, or the PSA did not answer in time: the card says "ticket not checked"."""

    reason: str


TicketCheck = Checked | TicketProblem | Unchecked
NO_PSA = "no PSA connection"
SHOWN_CHARS = 200  # title and company as the PSA has them, cut for the card


class TicketChecker:
    def __init__(self, directory: Directory, *, timeout_s: float = 1.5,
                 session_factory: Callable[[], aiohttp.ClientSession] = aiohttp.ClientSession,
                 caches: dict[int, dict] | None = None) -> None:
        self.directory = directory
        self.timeout_s = timeout_s
        self.session_factory = session_factory
        self.caches = caches if caches is not None else {}

    async def annotate(self, handoffs: Handoffs, workspace: WorkspaceKey, snapshot: Snapshot) -> Snapshot | TicketProblem:
        """The submitted snapshot with what the PSA says of its ticket, or why the ticket field is wrong."""
        if not snapshot.ticket:
            return snapshot
        ws = await handoffs.register_workspace(workspace)
        outcome = await self.check(workspace_id=ws.id, reference=snapshot.ticket)
        if isinstance(outcome, TicketProblem):
            return outcome
        if isinstance(outcome, Checked):
            return replace(snapshot, ticket_status="checked", ticket_title=outcome.ticket.title[:SHOWN_CHARS],
                           ticket_company=outcome.ticket.company[:SHOWN_CHARS])
        return snapshot if outcome.reason == NO_PSA else replace(snapshot, ticket_status="not_checked")

    async def check(self, *, workspace_id: int, reference: str) -> TicketCheck:
        if not reference.strip():
            return Unchecked("no ticket reference")
        try:
            return await asyncio.wait_for(self._check(workspace_id, reference), timeout=self.timeout_s)
        except (TimeoutError, asyncio.TimeoutError):
            return Unchecked(f"the PSA did not answer within {self.timeout_s:g}s")

    async def _check(self, workspace_id: int, reference: str) -> TicketCheck:
        try:
            connection = await self.directory.for_workspace(workspace_id)
        except ConfigError as error:
            return Unchecked(str(error))
        if connection is None:
            return Unchecked(NO_PSA)
        async with self.session_factory() as session:
            client = connection.client(session, timeout_s=self.timeout_s, cache=self.caches.setdefault(workspace_id, {}))
            ref = client.parse_ref(reference)
            if isinstance(ref, BadRef):
                return TicketProblem("bad_form", connection.kind, reference.strip(), max_digits=ref.max_digits)
            try:
                ticket = await client.find_ticket(ref)
            except PsaUnavailable as error:
                return Unchecked(str(error))
            except PsaRejected as error:
                return Unchecked(str(error))  # our credentials, not the engineer's input: admins see it
        if ticket is None:
            return TicketProblem("not_found", connection.kind, reference.strip())
        if ticket.closed:
            return TicketProblem("closed", connection.kind, reference.strip(), number=ticket.number,
                                 title=ticket.title[:SHOWN_CHARS])
        return Checked(ticket)
