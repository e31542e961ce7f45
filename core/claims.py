"""Claiming: exactly one engineer wins; losers learn who won, or why they were refused."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from core import jobs as job_kinds
from core import observers, telemetry
from core.models import AlreadyYours, ClaimOutcome, Lost, PersonKey, Refused, Won, WorkspaceKey
from core.rows import handoff_from_row, person_from_row
from core.scope import Scoped
from db import claims as claims_db
from db import outbox, store

_CLAIM_OUTCOMES = {AlreadyYours: "already_yours", Lost: "lost", Refused: "refused"}


class Claims(Scoped):
    # The winning claim as one statement on PostgreSQL; False runs it as steps in one transaction, as
    # SQLite does (bench/claims.py measures both in one run).
    claim_in_one_statement = True

    async def claim(
        self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID
    ) -> ClaimOutcome:
        """Exactly one engineer wins. The conditional UPDATE's row count decides (invariant 2);
        reads happen only afterwards, to tell a loser who won or why they were refused."""
        now = self.clock()
        if self.claim_in_one_statement and self.db.is_postgresql:
            # Ids are learned once per process (an idempotent upsert on a person's first click); the
            # claim is then one statement: the conditional UPDATE with its event, its jobs and the
            # observers' jobs (db/claims.py).
            ws_id, claimer_id = await self._ids(workspace, person)
            row = await claims_db.claim_in_one_statement(
                self.db, handoff_id=handoff_id, workspace_id=ws_id, person_id=claimer_id, now=now,
                event=self._claimed_event(ws_id, handoff_id, claimer_id, now),
                jobs=self._claimed_jobs(handoff_id, claimer_id, now),
                # Completed from the claimed row (its version, time to pick-up), if it names a ticket.
                told=job_kinds.observer_jobs(
                    self.observers, handoff_id, event="claimed", version="", now=now, actor_id=claimer_id
                ),
            )
            state = handoff_from_row(row) if row is not None else None
        else:
            async with self._transaction() as conn:  # the same rules, as steps (SQLite)
                ws_id = await self._workspace_id(conn, workspace)
                claimer_id = await self._person_id(conn, ws_id, person)
                row = await claims_db.claim_in_steps(
                    conn, handoff_id=handoff_id, workspace_id=ws_id, person_id=claimer_id, now=now,
                    event=self._claimed_event(ws_id, handoff_id, claimer_id, now),
                    jobs=self._claimed_jobs(handoff_id, claimer_id, now),
                )
                state = handoff_from_row(row) if row is not None else None
                if state is not None:
                    await observers.tell(conn, self.observers, state, event="claimed", now=now,
                                         actor_id=claimer_id, to_pickup_s=observers.seconds(state.escalated_at, now))
        if state is None:
            async with self._transaction() as conn:
                outcome = await self._claim_lost(conn, ws_id, claimer_id, handoff_id, now)
            self.telemetry.count(telemetry.CLAIMS, outcome=_CLAIM_OUTCOMES[type(outcome)])
            return outcome
        self.telemetry.count(telemetry.CLAIMS, outcome="won")
        self.telemetry.observe(telemetry.TIME_TO_PICKUP, (now - (state.escalated_at or state.created_at)).total_seconds())
        return Won(state)

    @staticmethod
    def _claimed_event(ws_id: int, handoff_id: uuid.UUID, claimer_id: int, now: datetime) -> dict[str, Any]:
        return store.event_row(workspace_id=ws_id, handoff_id=handoff_id, kind="claimed", actor_id=claimer_id, now=now)

    def _claimed_jobs(self, handoff_id: uuid.UUID, claimer_id: int, now: datetime) -> list[dict[str, Any]]:
        return [
            job_kinds.card_sync(handoff_id, now=now),
            # One per claim (keyed by who and when): a re-claim after a release gets its own reply.
            job_kinds.message(
                job_kinds.THREAD_REPLY, handoff_id=handoff_id, reply="claimed", person_id=claimer_id,
                key=f"claimed:{claimer_id}:{now.isoformat()}", now=now,
            ),
            # The owner hears privately, once, if nothing visible follows (core/nudges.py).
            job_kinds.first_action_nudge(
                handoff_id, person_id=claimer_id, claimed_at=now, due=now + self.reminders.first_action, now=now
            ),
        ]

    async def _claim_lost(self, conn, ws_id: int, claimer_id: int, handoff_id: uuid.UUID, now: datetime) -> ClaimOutcome:
        row = await store.load_handoff(conn, handoff_id, workspace_id=ws_id)
        if row is None:
            return Refused("not_found")
        state = handoff_from_row(row)
        if state.status == "claimed" and state.claimed_by is not None and state.claimed_by.id == claimer_id:
            return AlreadyYours(state)
        claimer = person_from_row(await store.get_person(conn, claimer_id))
        if claimer.role == "viewer" or state.claimed_by is None or state.status != "claimed":
            # A resolved or cancelled escalation keeps its owner, but nobody lost a race for it.
            own = state.author.id == claimer_id and state.status == "open"
            reason = "viewer" if claimer.role == "viewer" else "own_escalation" if own else "not_open"
            await store.insert_event(
                conn, workspace_id=ws_id, handoff_id=handoff_id, kind="claim_refused",
                actor_id=claimer_id, data={"reason": reason}, now=now,
            )
            return Refused(reason, state)
        # One thread reply per losing person per winner, however often they click.
        first = await store.insert_event(
            conn,
            workspace_id=ws_id,
            handoff_id=handoff_id,
            kind="conflict",
            actor_id=claimer_id,
            data={"winner": state.claimed_by.external_id},
            dedupe_key=f"conflict:{handoff_id}:{state.claimed_by.id}:{claimer_id}",
            now=now,
        )
        if first:
            await outbox.enqueue_all(conn, [job_kinds.message(
                job_kinds.THREAD_REPLY, handoff_id=handoff_id, reply="conflict", person_id=claimer_id,
                key=f"conflict:{claimer_id}:{state.claimed_by.id}", now=now, winner_id=state.claimed_by.id,
                claimed_at=state.claimed_at.isoformat() if state.claimed_at else None,
            )])
        return Lost(state, winner=state.claimed_by, claimed_at=state.claimed_at, first=first)
