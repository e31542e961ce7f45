"""The ticket's owner in the PSA set to the senior who picked it up (opt-in: HANDOFF_PSA_ASSIGN=true).

A step of its own after the pick-up note: the note job enqueues it with the note's record (one
transaction) once the note is written, so the ticket was found, and an assignment that fails never holds
back or repeats the note. The job:
1. does nothing when its outcome is recorded already, or records a skip when the claimer no longer holds
   the handoff (released, or picked up by someone else since);
2. takes the claimer's stored email while the platform gave or confirmed it less than EMAIL_MAX_AGE ago, else
   asks their chat platform through the delivery port (Slack users.info, the Teams conversation member) and
   stores the answer with when (a platform that cannot answer now leaves the stored one in use);
3. asks the PSA for the member with that email and makes them the ticket's owner (the same member again
   is harmless). No member for a stored email: one fresh look-up; a different address is stored and tried
   once, the same one (or none) is recorded as no_member;
4. records the outcome: `psa_assigned`, or `psa_assign_skipped` with why (no_email, no_member, not_owner).
   A configuration problem (the app lacks the platform's email permission) also puts a line on the card,
   as a refused PSA call does; 429/5xx retry with backoff; 401/403/404 are final (`psa_assign_failed`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cards import psa_messages
from core.delivery import ContactEmail
from core.errors import PermanentFailure, RetryLater
from core.models import HandoffState, Job, Person
from core.worker import JobKind
from db import store
from psa.jobs import ASSIGN_KIND, PsaNotes

log = logging.getLogger("handoff.psa")

# The card's lines this job sets (worded by cards/psa_messages.card_notice, in each platform's phrases).
NOTICES = (psa_messages.NO_EMAILS, psa_messages.ASSIGN_STOPPED)
# How long a stored email is used without asking the platform again: people's addresses change rarely (a
# rename, a new domain) and a day bounds how long an old one maps them to the wrong PSA member, or none; a
# stored one no member has is asked for again at once.
EMAIL_MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class Contact:
    """The email to assign by, and whether the platform was asked for it on this try (else it is the stored one,
    recent enough)."""

    answer: ContactEmail
    asked: bool


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
        if contact.answer.email is None:
            await self._no_email(state, person, contact.answer, recorded)
            return
        ticket_id = str(job.payload.get("ticket_id"))
        async with self.notes.calling(connection, state, job) as client:
            email = contact.answer.email
            assigned = await client.assign(ticket_id, email)
            if not assigned and not contact.asked:  # the stored address may be out of date: ask once
                asked = await self._ask(state, person, quietly=True)
                if asked.email and asked.email != email:
                    email = asked.email
                    assigned = await client.assign(ticket_id, email)
        facts = {"psa": connection.kind, "ticket": job.payload.get("ticket"), "email": email}
        if not assigned:
            await self._outcome(state, "psa_assign_skipped", {"reason": "no_member", **facts}, recorded)
            return
        await self._outcome(state, "psa_assigned", facts, recorded)
        if psa_messages.notice_kind(state.notice) in NOTICES:
            await self.handoffs.set_notice(state.id, None)  # fixed: the line goes

    async def _no_email(self, state: HandoffState, person: Person, contact: ContactEmail, recorded: str) -> None:
        await self._outcome(state, "psa_assign_skipped", {"reason": "no_email", "person": person.display_name,
                                                          **({"missing": contact.missing} if contact.missing else {})},
                            recorded)
        if contact.missing:
            await self.handoffs.set_notice(state.id, psa_messages.notice(psa_messages.NO_EMAILS, contact.missing))

    async def _email(self, state: HandoffState, person: Person) -> Contact:
        """The stored email while it is recent, else the platform's answer (stored with when); the stored one
        when the platform cannot answer now."""
        checked = person.email_checked_at
        if person.email and checked is not None and self.handoffs.clock() - checked < EMAIL_MAX_AGE:
            return Contact(ContactEmail(person.email), asked=False)
        try:
            asked = await self._ask(state, person)
        except (RetryLater, PermanentFailure):
            if not person.email:
                raise
            log.info("email of person %s not refreshed (the platform did not answer): the stored one is used", person.id)
            return Contact(ContactEmail(person.email), asked=True)
        if asked.email is None and person.email:
            return Contact(ContactEmail(person.email), asked=True)  # the platform has none to show now
        return Contact(asked, asked=True)

    async def _ask(self, state: HandoffState, person: Person, *, quietly: bool = False) -> ContactEmail:
        """The platform's answer, kept (with when) when it gives an address. `quietly`: a platform that cannot
        answer now is no answer (else its error retries the job)."""
        port = self.ports.get(state.workspace.platform)
        if port is None:
            return ContactEmail(None)
        try:
            contact = await port.contact_email(state, person)
        except (RetryLater, PermanentFailure):
            if not quietly:
                raise
            return ContactEmail(None)
        if contact.email:
            async with self.handoffs.db.transaction() as conn:
                await store.set_person_email(conn, person_id=person.id, email=contact.email[:320],
                                             now=self.handoffs.clock())
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
