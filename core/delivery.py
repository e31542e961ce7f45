"""The delivery port each platform adapter implements, and the jobs that drive it.

Card sync converges (DESIGN invariant 1): the card is always rendered from the current row, its
record keeps rendered_version, and while the version moved during an edit we render again.
Jobs on one handoff's card share a dedupe key, so two edits of one card never overlap.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from core import jobs as job_kinds
from core import telemetry
from core.errors import PermanentFailure, RetryLater
from core.handoffs import Handoffs
from core.models import HandoffState, Job, Person
from core.worker import JobKind
from db import store

log = logging.getLogger("handoff.delivery")

MAX_RENDER_ROUNDS = 5
# How long the new owner's checklist waits for an assessment still being written.
CHECKLIST_WAIT = timedelta(seconds=30)


@dataclass(frozen=True)
class PostedCard:
    message_ref: str
    conversation_ref: str | None = None
    service_url: str | None = None
    # False when an earlier try's message was found instead of posting: it may show older state.
    shows_current: bool = True


@dataclass(frozen=True)
class Reply:
    """A message in the card's thread or a direct message. `kind`: conflict | claimed | notify_target |
    nudge (thread) | nudge_target | overdue_admin | first_action (direct messages)."""

    kind: str
    person: Person  # who it is about or for (the loser, the new owner, the named senior)
    winner: Person | None = None
    claimed_at: datetime | None = None  # a conflict: when the winner claimed it
    detail: Mapping[str, Any] = field(default_factory=dict)  # the job's payload (waited_s, step, key ...)


class CardDelivery(Protocol):
    platform: str  # the workspace platform this port serves: "slack", "teams"

    async def post_card(self, state: HandoffState, *, maybe_posted: bool) -> PostedCard:
        """Post a new card. `maybe_posted`: an earlier try may have posted it before dying;
        an adapter that can look for that message should, so a retry never double-posts."""

    async def edit_card(self, state: HandoffState) -> None: ...

    async def reply_in_thread(self, state: HandoffState, reply: Reply) -> None: ...

    async def notify(self, state: HandoffState, reply: Reply) -> None:
        """A direct message (the senior the author named)."""


class Deliveries:
    """Runs card jobs against whichever platform's delivery the handoff's workspace is on."""

    def __init__(self, handoffs: Handoffs, ports: dict[str, CardDelivery]) -> None:
        self.handoffs = handoffs
        self.ports = ports

    def job_kinds(self) -> dict[str, JobKind]:
        return {
            job_kinds.CARD_SYNC: JobKind(self.sync_card, self.card_failed),
            job_kinds.THREAD_REPLY: JobKind(self.reply),
            job_kinds.NOTIFY_TARGET: JobKind(self.notify),
        }

    def _port(self, state: HandoffState) -> CardDelivery:
        port = self.ports.get(state.workspace.platform)
        if port is None:
            raise PermanentFailure(f"no delivery configured for platform {state.workspace.platform!r}")
        return port

    async def sync_card(self, job: Job) -> None:
        db, clock = self.handoffs.db, self.handoffs.clock
        for _ in range(MAX_RENDER_ROUNDS):
            state = await self.handoffs.load(job.handoff_id)
            if state is None or state.card is None:
                return
            card = state.card
            if card.message_ref is not None and card.rendered_version >= state.version:
                return
            port = self._port(state)
            if card.message_ref is None:
                async with db.transaction() as conn:
                    await store.update_card(conn, card_id=card.id, now=clock(), state="posting")
                posted = await port.post_card(state, maybe_posted=card.state == "posting")
                shown = posted.shows_current
                async with db.transaction() as conn:
                    values = {
                        "message_ref": posted.message_ref,
                        "conversation_ref": posted.conversation_ref,
                        "service_url": posted.service_url,
                        "state": "posted",
                        "last_error": None,
                    }
                    if posted.shows_current:
                        await store.record_card_rendered(conn, card_id=card.id, version=state.version, now=clock(), **values)
                    else:  # found an earlier try's message: the next round edits it to the current state
                        await store.update_card(conn, card_id=card.id, now=clock(), **values)
                    await store.insert_event(
                        conn, workspace_id=state.workspace.id, handoff_id=state.id, kind="card_posted",
                        data={"version": state.version, "message_ref": posted.message_ref}, now=clock(),
                    )
            else:
                await port.edit_card(state)
                shown = True
                async with db.transaction() as conn:
                    await store.record_card_rendered(
                        conn, card_id=card.id, version=state.version, now=clock(), state="posted", last_error=None
                    )
                    await store.insert_event(
                        conn, workspace_id=state.workspace.id, handoff_id=state.id, kind="card_edited",
                        data={"version": state.version}, now=clock(),
                    )
            if shown:  # from the state change to the card showing it
                self.handoffs.telemetry.observe(
                    telemetry.CARD_LAG, (clock() - state.updated_at).total_seconds(), platform=port.platform
                )
        # Still moving after several rounds: let the next job pick it up rather than spin here.
        raise RetryLater("card kept changing while being rendered", delay_s=0.5)

    async def card_failed(self, job: Job, error: str) -> None:
        state = await self.handoffs.load(job.handoff_id)
        if state is None or state.card is None:
            return
        async with self.handoffs.db.transaction() as conn:
            await store.update_card(conn, card_id=state.card.id, now=self.handoffs.clock(), state="failed", last_error=error)
            await store.insert_event(
                conn, workspace_id=state.workspace.id, handoff_id=state.id, kind="delivery_failed",
                data={"error": error}, now=self.handoffs.clock(),
            )

    async def _reply_parts(self, job: Job) -> tuple[HandoffState, Reply] | None:
        state = await self.handoffs.load(job.handoff_id)
        person = await self.handoffs.person(job.payload["person_id"])
        if state is None or person is None:
            return None
        winner_id = job.payload.get("winner_id")
        winner = await self.handoffs.person(winner_id) if winner_id else None
        claimed_at = _when(job.payload.get("claimed_at"))
        if claimed_at is None and winner is not None and state.claimed_by is not None and state.claimed_by.id == winner.id:
            claimed_at = state.claimed_at
        return state, Reply(kind=job.payload.get("reply", job.kind), person=person, winner=winner, claimed_at=claimed_at,
                            detail=job.payload)

    async def reply(self, job: Job) -> None:
        parts = await self._reply_parts(job)
        if parts is None:
            return
        state, reply = parts
        if state.card is None or state.card.message_ref is None:
            raise RetryLater("card not posted yet", delay_s=1.0)
        now = self.handoffs.clock()
        if reply.kind == "claimed" and state.assessment_state == "pending" and state.claimed_at \
                and now - state.claimed_at < CHECKLIST_WAIT:
            raise RetryLater("assessment still in progress", delay_s=2.0, attempt_used=False)
        await self._port(state).reply_in_thread(state, reply)

    async def notify(self, job: Job) -> None:
        parts = await self._reply_parts(job)
        if parts is None:
            return
        state, reply = parts
        kind = job.payload.get("reply", "notify_target")
        await self._port(state).notify(state, Reply(kind=kind, person=reply.person, detail=job.payload))


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def handoff_uuid(value: str) -> uuid.UUID | None:
    """Parse a handoff id from a button value; None for anything that is not one."""
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        return None
