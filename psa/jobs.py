"""PSA notes as durable jobs: one note per event, written once even when the job runs again.

The core enqueues a `psa.note` job (payload: event, version, actor and times) in the transaction that
changes a handoff naming a ticket. This runner:
1. does nothing when the workspace has no PSA connection, or the note is already recorded (an event
   keyed by the job's dedupe key holds the PSA's note id);
2. waits, without spending a try, while an earlier note of the same handoff is unfinished (notes keep
   the order of events) and, for the escalation note, a short while for the card's link;
3. on a retry, first looks for its marker on the ticket (the last answer may have been lost after the
   PSA recorded the note), and writes only when it is not there;
4. records the note id. 429/5xx/timeouts retry with backoff (Retry-After honoured); 401/403/404 and bad
   references are final, and leave an event and a line on the card for admins.
Where the workspace assigns (its PSA settings' switch, else HANDOFF_PSA_ASSIGN=true), the pick-up note's record also enqueues the assignment of the
ticket to the senior who picked it up: a job of its own (psa/assign.py), so it never repeats the note.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp

from cards import psa_messages
from core.delivery import CardDelivery
from core.errors import PermanentFailure, RetryLater
from core.handoffs import Handoffs
from core.models import HandoffState, Job
from core.psa_form import NO_TICKET, NOT_ITS_REFERENCE, PsaProblem
from core.jobs import OBSERVER_MAX_ATTEMPTS
from core.worker import JobKind, backoff_delay
from db import outbox
from db import psa as psa_store
from db import store
from psa import notes
from psa.client import BadRef, PsaClient, Ticket
from psa.connection import ConfigError, PsaConnection
from psa.directory import Directory
from psa.http import PsaRejected, PsaUnavailable

log = logging.getLogger("handoff.psa")

KIND = "psa.note"
ASSIGN_KIND = "psa.assign"  # after the pick-up note: the ticket's owner set to the senior (psa/assign.py)


class PsaNotes:
    def __init__(
        self,
        handoffs: Handoffs,
        directory: Directory,
        *,
        timeout_s: float = 10.0,
        retry_base_s: float = 5.0,
        retry_cap_s: float = 600.0,
        card_wait_s: float = 30.0,
        session_factory: Callable[[], aiohttp.ClientSession] = aiohttp.ClientSession,
        ports: Mapping[str, CardDelivery] | None = None,
    ) -> None:
        self.handoffs = handoffs
        self.directory = directory
        self.timeout_s = timeout_s
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.card_wait_s = card_wait_s
        self.session_factory = session_factory
        # The platforms' delivery ports (the adapters fill the dict at install): the names notes give people.
        self.ports: Mapping[str, CardDelivery] = ports if ports is not None else {}
        self._caches: dict[int, dict[str, Any]] = {}  # workspace id -> discovered zones, tokens

    def job_kinds(self) -> dict[str, JobKind]:
        return {KIND: JobKind(self.run, self.failed)}

    def client(self, connection: PsaConnection, session: aiohttp.ClientSession, workspace_id: int,
               *, timeout_s: float | None = None) -> PsaClient:
        cache = self._caches.setdefault(workspace_id, {})
        return connection.client(session, timeout_s=timeout_s or self.timeout_s, cache=cache)

    async def connection(self, state: HandoffState) -> PsaConnection | None:
        """The workspace's connection; one that cannot be read fails the job for good (naming no secret)."""
        try:
            return await self.directory.for_workspace(state.workspace.id)
        except ConfigError as error:
            raise PermanentFailure(str(error)) from None

    @asynccontextmanager
    async def calling(self, connection: PsaConnection, state: HandoffState, job: Job) -> AsyncIterator[PsaClient]:
        """A client for one try of a job; an unreachable PSA that named no wait retries with the jobs' backoff."""
        try:
            async with self.session_factory() as session:
                yield self.client(connection, session, state.workspace.id)
        except PsaUnavailable as error:
            if error.delay_s is None:
                error.delay_s = backoff_delay(job.attempts, base_s=self.retry_base_s, cap_s=self.retry_cap_s)
            raise

    async def stopped(self, job: Job, error: str, *, event: str, notice: str,
                      data: dict[str, Any]) -> tuple[HandoffState, str] | None:
        """A job refused for good or out of tries: an event naming the error (never a secret) and the card's line."""
        state = await self.handoffs.load(job.handoff_id)
        if state is None:
            return None
        reason = error.split(": ", 1)[1] if ": " in error else error
        await self.record_event(state, event, {**data, "error": reason[:300]})
        await self.handoffs.set_notice(state.id, psa_messages.notice(notice, reason))
        return state, reason

    async def run(self, job: Job) -> None:
        state = await self.handoffs.load(job.handoff_id)
        if state is None or not state.snapshot.ticket:
            return
        connection = await self.connection(state)
        recorded = f"psa_note:{job.dedupe_key}"
        if connection is None or await self.recorded(recorded):
            return
        await self._wait_turn(job, state)
        async with self.calling(connection, state, job) as client:
            note_id, ticket = await self._write(client, job, state)
        if note_id is None:
            return
        await self.record_event(state, "psa_note", {"event": job.payload.get("event"), "psa": connection.kind,
                                                    "ticket": ticket.number, "note_id": note_id},
                                dedupe_key=recorded, jobs=self._then(job, state, ticket, connection))
        if psa_messages.notice_kind(state.notice) == psa_messages.NOTES_STOPPED:
            await self.handoffs.set_notice(state.id, None)  # the PSA works again

    def _then(self, job: Job, state: HandoffState, ticket: Ticket, connection: PsaConnection) -> list[dict[str, Any]]:
        """The pick-up note is written: where the workspace assigns, the ticket's assignment to the senior follows."""
        actor_id = job.payload.get("actor_id")
        if not self.directory.assigns(connection) or job.payload.get("event") != "claimed" or not isinstance(actor_id, int):
            return []
        version = int(job.payload.get("version", 0))
        return [outbox.job(ASSIGN_KIND, handoff_id=state.id, now=self.handoffs.clock(),
                           payload={"person_id": actor_id, "ticket_id": ticket.id, "ticket": ticket.number,
                                    "version": version},
                           dedupe_key=f"{ASSIGN_KIND}:{state.id}:{version}", max_attempts=OBSERVER_MAX_ATTEMPTS)]

    async def _write(self, client: PsaClient, job: Job, state: HandoffState) -> tuple[str | None, Ticket]:
        ticket = await self._ticket(client, state)
        event, version = job.payload.get("event", ""), int(job.payload.get("version", 0))
        actor = await self._name(state, job.payload.get("actor_id"))
        text = notes.render(state, event=event, actor=actor, facts=job.payload)
        if text is None:
            return None, ticket
        mark = notes.marker(state.id, event, version)
        found = await client.find_note(ticket.id, mark) if job.attempts > 1 else None
        return found or await client.add_note(ticket.id, notes.fit(text, mark, client.note_limit)), ticket

    async def _ticket(self, client: PsaClient, state: HandoffState) -> Ticket:
        ref = client.parse_ref(state.snapshot.ticket)
        if isinstance(ref, BadRef):
            raise PsaRejected(PsaProblem(client.vendor, NOT_ITS_REFERENCE, detail=state.snapshot.ticket))
        ticket = await client.find_ticket(ref)
        if ticket is None:
            raise PsaRejected(PsaProblem(client.vendor, NO_TICKET, status=404, detail=state.snapshot.ticket))
        return ticket

    async def _wait_turn(self, job: Job, state: HandoffState) -> None:
        """Earlier notes first; the escalation note waits a little for the card, to link to it."""
        now = self.handoffs.clock()
        async with self.handoffs.db.transaction() as conn:
            due = await psa_store.earlier_unfinished(conn, handoff_id=state.id, kind=KIND, job_id=job.id)
        if due is not None:
            wait = max(0.05, (due - now).total_seconds() + 0.05)
            raise RetryLater("an earlier note of this handoff is not written yet", delay_s=wait, attempt_used=False)
        if job.payload.get("event") != "escalated" or state.card is None or state.card.message_ref:
            return
        since = state.escalated_at or state.created_at
        if now - since < timedelta(seconds=self.card_wait_s):
            raise RetryLater("waiting for the card, to link to it", delay_s=0.2, attempt_used=False)

    async def failed(self, job: Job, error: str) -> None:
        """Out of tries, or refused for good: admins see why (the error never holds a secret)."""
        stopped = await self.stopped(job, error, event="psa_note_failed", notice=psa_messages.NOTES_STOPPED,
                                     data={"event": job.payload.get("event")})
        if stopped is not None:
            state, reason = stopped
            log.warning("PSA note for handoff %s (%s) failed: %s", state.id, job.payload.get("event"), reason[:300])

    async def recorded(self, key: str) -> bool:
        async with self.handoffs.db.transaction() as conn:
            return await psa_store.find_event(conn, dedupe_key=key) is not None

    async def _name(self, state: HandoffState, person_id: int | None) -> str:
        """The person's name as their chat platform shows it ("Dana", not the username "dana" a Slack
        click carries); the stored name without a port."""
        person = await self.handoffs.person(person_id) if person_id else None
        if person is None:
            return "someone"
        port = self.ports.get(state.workspace.platform)
        return await port.shown_name(state, person) if port is not None else person.display_name

    async def record_event(self, state: HandoffState, kind: str, data: dict[str, Any], *, dedupe_key: str | None = None,
                           jobs: list[dict[str, Any]] = ()) -> None:
        """An event on the handoff's trail, and the jobs that follow from it, in one transaction."""
        async with self.handoffs.db.transaction() as conn:
            added = await store.insert_event(conn, workspace_id=state.workspace.id, handoff_id=state.id, kind=kind,
                                             data=data, dedupe_key=dedupe_key, now=self.handoffs.clock())
            if added and jobs:
                await outbox.enqueue_all(conn, list(jobs))
