"""The assessment wired for real: core + database + worker + the real SDK against the fake Anthropic API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from core import jobs as job_kinds
from core.assessment import Assessments
from core.claude import ClaudeAssessor
from core.delivery import Deliveries
from core.handoffs import Handoffs
from core.worker import Worker
from db import outbox
from tests.factories import escalated
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.port import RecordingPort
from tests.servers import serve

# Small numbers so a failure mode ends in seconds; the budget below is computed from them.
# The SDK's timeout: a model that hangs is given up on in 0.3 s (HANG_TIMEOUT_S); any other call gets 2 s, so
# on a loaded machine a slow answer from the fake on 127.0.0.1 is not taken for a hang (another retry, another
# call, a "timeout" in the trail).
TIMEOUT_S = 2.0
HANG_TIMEOUT_S = 0.3
MAX_RETRIES = 1
MAX_SLEEP_S = 0.5
RETRY_BASE_S = 0.05
RETRY_CAP_S = 0.3
POLL_S = 0.05


@dataclass
class Rig:
    fake: FakeAnthropic
    handoffs: Handoffs
    assessments: Assessments
    worker: Worker
    cards: RecordingPort

    async def assess_jobs(self, handoff_id=None):
        async with self.handoffs.db.transaction() as conn:
            return await outbox.list_jobs(conn, handoff_id=handoff_id, kind=job_kinds.ASSESS)

    async def trail(self, handoff_id) -> list[dict]:
        return await self.handoffs.events(handoff_id)

    async def assessed(self, **fields):
        """Escalate, let the worker run until nothing is left, and return the handoff as stored and its trail."""
        handoff = await escalated(self.handoffs, **fields)
        await self.worker.drain()
        return await self.handoffs.load(handoff.id), await self.trail(handoff.id)

    def budget_s(self) -> float:
        return self.assessments.budget_s(poll_s=POLL_S)


@asynccontextmanager
async def assessment_rig(
    db,
    fake: FakeAnthropic,
    *,
    concurrency: int = 4,
    worker_concurrency: int = 1,
    with_key: bool = True,
    timeout_s: float = TIMEOUT_S,
    api_key: str | None = None,
) -> AsyncIterator[Rig]:
    async with serve(fake.app()) as url:
        assessor = None
        if with_key:
            assessor = ClaudeAssessor(
                api_key=api_key or fake.api_key, base_url=url, model="claude-test", timeout_s=timeout_s,
                max_retries=MAX_RETRIES, concurrency=concurrency, max_sleep_s=MAX_SLEEP_S,
            )
        handoffs = Handoffs(db)
        assessments = Assessments(handoffs, assessor, retry_base_s=RETRY_BASE_S, retry_cap_s=RETRY_CAP_S)
        cards = RecordingPort()
        kinds = {**Deliveries(handoffs, {"slack": cards}).job_kinds(), **assessments.job_kinds()}
        worker = Worker(db, kinds, concurrency=worker_concurrency, poll_s=POLL_S, backoff_base_s=RETRY_BASE_S)
        try:
            yield Rig(fake, handoffs, assessments, worker, cards)
        finally:
            if assessor is not None:
                await assessor.aclose()
