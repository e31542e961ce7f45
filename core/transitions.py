"""Guarded transitions after a claim (release, resolve, cancel) and what the owner does next.

Each is one conditional UPDATE (the guard) in one transaction with its event and jobs; a refusal says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from core import jobs as job_kinds
from core import observers, telemetry
from core.models import Done, Person, PersonKey, Refused, TransitionOutcome, WorkspaceKey
from core.rows import handoff_from_row
from core.reminders import ReminderCommands
from db import outbox, store


class Transitions(ReminderCommands):  # release re-arms the reminders
    async def release(self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID) -> TransitionOutcome:
        """The owner hands the escalation back to the queue."""
        now = self.clock()
        return await self._transition(
            workspace, person, handoff_id,
            kind="released",
            guard_for=lambda actor: {"status": "claimed", "claimed_by": actor.id},
            values={
                "status": "open", "claimed_by": None, "claimed_at": None, "first_action_at": None,
                "reminders_from": now, "snoozed_until": None, "overdue_at": None,
            },
            wanted="owner",
            now=now,
            more_jobs=lambda conn, ws_id: self._reminder_jobs(conn, ws_id, handoff_id, base=now, now=now),
        )

    async def resolve(self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID) -> TransitionOutcome:
        """The owner marks it done."""
        return await self._transition(
            workspace, person, handoff_id,
            kind="resolved",
            guard_for=lambda actor: {"status": "claimed", "claimed_by": actor.id},
            values={"status": "resolved", "closed_at": self.clock()},
            wanted="owner",
        )

    async def cancel(self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID) -> TransitionOutcome:
        """The author withdraws an escalation nobody has picked up (or a parked one)."""
        return await self._transition(
            workspace, person, handoff_id,
            kind="cancelled",
            guard_for=lambda actor: {"status": "open", "created_by": actor.id},
            values={"status": "cancelled", "closed_at": self.clock()},
            wanted="author",
        )

    async def _transition(
        self,
        workspace: WorkspaceKey,
        person: PersonKey,
        handoff_id: uuid.UUID,
        *,
        kind: str,
        guard_for: Callable[[Person], dict[str, Any]],
        values: dict[str, Any],
        wanted: str,
        now: datetime | None = None,
        more_jobs: Callable[[Any, int], Awaitable[list[dict[str, Any]]]] | None = None,
    ) -> TransitionOutcome:
        now = now or self.clock()
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            actor = await self._person(conn, ws_id, person)
            before = None
            if self.observers and kind in ("released", "resolved"):
                before = await store.load_handoff(conn, handoff_id, workspace_id=ws_id)
            version = await store.transition_handoff(
                conn, handoff_id=handoff_id, workspace_id=ws_id, guard=guard_for(actor), values=values, now=now
            )
            if version is None:
                return await self._refusal(conn, ws_id, handoff_id, actor, wanted=wanted)
            await store.insert_event(
                conn, workspace_id=ws_id, handoff_id=handoff_id, kind=kind, actor_id=actor.id, now=now
            )
            extra = await more_jobs(conn, ws_id) if more_jobs is not None else []
            await outbox.enqueue_all(conn, [job_kinds.card_sync(handoff_id, now=now), *extra])
            state = handoff_from_row(await store.load_handoff(conn, handoff_id))
            if before is not None:
                await observers.tell(conn, self.observers, state, event=kind, now=now, actor_id=actor.id,
                                     **observers.times(handoff_from_row(before), now))
            return Done(state)

    async def _refusal(self, conn, ws_id: int, handoff_id: uuid.UUID, actor: Person, *, wanted: str) -> Refused:
        row = await store.load_handoff(conn, handoff_id, workspace_id=ws_id)
        if row is None:
            return Refused("not_found")
        state = handoff_from_row(row)
        if wanted == "owner" and (state.claimed_by is None or state.claimed_by.id != actor.id):
            return Refused("not_owner", state)
        if wanted == "author" and state.author.id != actor.id:
            return Refused("not_author", state)
        return Refused("not_open", state)

    async def set_notice(self, handoff_id: uuid.UUID, notice: str | None) -> bool:
        """An integration's one line for the card's footer (None clears it); the card re-renders."""
        now = self.clock()
        async with self._transaction() as conn:
            row = await store.load_handoff(conn, handoff_id)
            if row is None or row["notice"] == notice:
                return False
            await store.transition_handoff(conn, handoff_id=handoff_id, workspace_id=row["workspace_id"], guard={},
                                           values={"notice": notice}, now=now)
            await outbox.enqueue_all(conn, [job_kinds.card_sync(handoff_id, now=now)])
            return True

    async def record_first_action(
        self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID
    ) -> bool:
        """The owner did something visible (first message in the card's thread). Counted once."""
        now = self.clock()
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            actor = await self._person(conn, ws_id, person)
            recorded = await store.set_first_action(conn, handoff_id=handoff_id, person_id=actor.id, now=now)
            if recorded:
                await store.insert_event(
                    conn, workspace_id=ws_id, handoff_id=handoff_id, kind="first_action", actor_id=actor.id, now=now
                )
                row = await store.load_handoff(conn, handoff_id)
        if recorded:
            started = row["escalated_at"] or row["created_at"]
            self.telemetry.observe(telemetry.TIME_TO_FIRST_ACTION, (now - started).total_seconds())
        return recorded
