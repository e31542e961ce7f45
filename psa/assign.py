"""The ticket's owner in the PSA set to the senior who picked it up (opt-in: HANDOFF_PSA_ASSIGN=true).

A step of its own after the pick-up note: the note job enqueues it with the note's record (one
transaction) once the note is written, so the ticket was found, and an assignment that fails never holds
back or repeats the note. The job:
1. does nothing when its outcome is recorded already, or records a skip when the claimer no longer holds
   the handoff (released, or picked up by someone else since);
2. takes the claimer's stored email, or asks their chat platform through the delivery port (Slack
   users.info, the Teams conversation member) and stores the answer;
3. asks the PSA for the member with that email and makes them the ticket's owner (the same member again
   is harmless);
4. records the outcome: `psa_assigned`, or `psa_assign_skipped` with why (no_email, no_member, not_owner).
   A configuration problem (the app lacks the platform's email permission) also puts a line on the card,
   as a refused PSA call does; 429/5xx retry with backoff; 401/403/404 are final (`psa_assign_failed`).
"""

from __future__ import annotations

import logging
from typing import Any

from cards import psa_messages
from core.delivery import ContactEmail
from core.models import HandoffState, Job, Person
from core.worker import JobKind
from db import store
from psa.jobs import ASSIGN_KIND, PsaNotes

log = logging.getLogger("handoff.psa")

# The card's lines this job sets (worded by cards/psa_messages.card_notice, in each platform's phrases).
NOTICES = (psa_messages.NO_EMAILS, psa_messages.ASSIGN_STOPPED)


class PsaAssign:
    def __init__(self, notes: PsaNotes) -> None:
        self.notes = notes
        self.handoffs = notes.handoffs
        self.ports = notes.ports  # the platforms' delivery ports (filled in once the adapters are installed)

    def job_kinds(self) -> dict[str, JobKind]:
        return {ASSIGN_KIND: JobKind(self.run, self.failed)}

    async def run(self, job: Job) -> None:
        state = await self.handoffs.load(job.handoff_id)
        person_id = job.payload.get("person_id")
        person = await self.handoffs.person(person_id) if isinstance(person_id, int) else None
        recorded = f"psa_assign:{job.dedupe_key}"
        if state is None or person is None or await self.notes.recorded(recorded):
            return
        if state.claimed_by is None or state.claimed_by.id != person.id:
            await self._outcome(state, "psa_assign_skipped", {"reason": "not_owner"}, recorded)
            return
        connection = await self.notes.connection(state)
        if connection is None:
            return
        contact = await self._email(state, person)
        if contact.email is None:
            await self._outcome(state, "psa_assign_skipped", {"reason": "no_email", "person": person.display_name,
                                                              **({"missing": contact.missing} if contact.missing else {})},
                                recorded)
            if contact.missing:
                await self.handoffs.set_notice(state.id, psa_messages.notice(psa_messages.NO_EMAILS, contact.missing))
            return
        ticket_id = str(job.payload.get("ticket_id"))
        async with self.notes.calling(connection, state, job) as client:
            assigned = await client.assign(ticket_id, contact.email)
        facts = {"psa": connection.kind, "ticket": job.payload.get("ticket"), "email": contact.email}
        if not assigned:
            await self._outcome(state, "psa_assign_skipped", {"reason": "no_member", **facts}, recorded)
            return
        await self._outcome(state, "psa_assigned", facts, recorded)
        if psa_messages.notice_kind(state.notice) in NOTICES:
            await self.handoffs.set_notice(state.id, None)  # fixed: the line goes

    async def _email(self, state: HandoffState, person: Person) -> ContactEmail:
        """The stored email, else the platform's answer (kept when it gives one)."""
        if person.email:
            return ContactEmail(person.email)
        port = self.ports.get(state.workspace.platform)
        if port is None:
            return ContactEmail(None)
        contact = await port.contact_email(state, person)
        if contact.email:
            async with self.handoffs.db.transaction() as conn:
                await store.set_person_email(conn, person_id=person.id, email=contact.email[:320])
        return contact

    async def failed(self, job: Job, error: str) -> None:
        """Refused for good (credentials, permissions): admins see why on the card; the note stands."""
        stopped = await self.notes.stopped(job, error, event="psa_assign_failed", notice=psa_messages.ASSIGN_STOPPED,
                                           data={})
        if stopped is not None:
            state, reason = stopped
            log.warning("PSA assignment for handoff %s failed: %s", state.id, reason[:300])

    async def _outcome(self, state: HandoffState, kind: str, data: dict[str, Any], key: str) -> None:
        await self.notes.record_event(state, kind, data, dedupe_key=key)
        if kind != "psa_assigned":
            log.info("PSA ticket of handoff %s not assigned: %s", state.id, data.get("reason"))
