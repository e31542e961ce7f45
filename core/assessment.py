"""Diagnostic assessment of a handoff, as a durable job. (Issue 3 fills in the model and fallback.)"""

from __future__ import annotations

from typing import Any, Protocol

from core import jobs as job_kinds
from core.handoffs import Handoffs
from core.models import HandoffState, Job
from core.worker import JobKind
from db import outbox, store


class Assessor(Protocol):
    async def assess(self, state: HandoffState) -> dict[str, Any]: ...


class Assessments:
    def __init__(self, handoffs: Handoffs, assessor: Assessor | None) -> None:
        self.handoffs = handoffs
        self.assessor = assessor

    def job_kinds(self) -> dict[str, JobKind]:
        return {job_kinds.ASSESS: JobKind(self.run)}

    async def run(self, job: Job) -> None:
        state = await self.handoffs.load(job.handoff_id)
        if state is None or state.assessment_state != "pending":
            return
        if self.assessor is None:
            await self._apply(state, "skipped", None)
            return
        await self._apply(state, "ready", await self.assessor.assess(state))

    async def _apply(self, state: HandoffState, outcome: str, assessment: dict[str, Any] | None) -> None:
        now = self.handoffs.clock()
        async with self.handoffs.db.transaction() as conn:
            version = await store.set_assessment(
                conn, handoff_id=state.id, state=outcome, assessment=assessment, now=now
            )
            if version is None:
                return
            await store.insert_event(
                conn, workspace_id=state.workspace.id, handoff_id=state.id, kind=f"assessment_{outcome}", now=now
            )
            if state.card is not None:
                await outbox.enqueue(
                    conn, kind=job_kinds.CARD_SYNC, handoff_id=state.id,
                    dedupe_key=job_kinds.card_key(state.id), now=now,
                )
