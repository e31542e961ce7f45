"""Waits that are not failures never spend a try; a payload that cannot parse fails at once."""

import time
from datetime import timedelta

from core import jobs as job_kinds
from core.assessment import Assessments
from core.delivery import Deliveries
from core.errors import RateLimited
from core.worker import Worker
from db import outbox
from tests.factories import ACME, CAROL, DANA, escalated
from tests.fakes.port import RecordingPort


class SlowCardPort(RecordingPort):
    """Slack refuses the card's post (429) `refusals` times before it lands."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def post_card(self, state, *, maybe_posted):
        if self.refusals > 0:
            self.refusals -= 1
            raise RateLimited("429 from chat.postMessage", delay_s=0.01)
        return await super().post_card(state, maybe_posted=maybe_posted)


def worker_for(handoffs, port, *, assess: bool = True, **options) -> Worker:
    deliveries = Deliveries(handoffs, {"slack": port}, wait_s=0.01, **options)
    kinds = deliveries.job_kinds() | (Assessments(handoffs, None).job_kinds() if assess else {})
    return Worker(handoffs.db, kinds, backoff_base_s=0.01, poll_s=0.02)


async def jobs_of(handoffs, kind):
    async with handoffs.db.transaction() as conn:
        return await outbox.list_jobs(conn, kind=kind)


async def test_replies_wait_for_a_card_that_is_slow_to_post_without_spending_tries(handoffs):
    port = SlowCardPort(refusals=40)  # the card takes far longer than 8 of the replies' waits
    worker = worker_for(handoffs, port)
    h = await escalated(handoffs)
    await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    await handoffs.claim(workspace=ACME, person=CAROL, handoff_id=h.id)
    await worker.drain(timeout_s=30)
    assert port.posts == 1
    assert sorted(r.kind for _, r in port.replies) == ["claimed", "conflict"]
    replies = await jobs_of(handoffs, job_kinds.THREAD_REPLY)
    assert [(j["state"], j["attempts"]) for j in replies] == [("done", 1), ("done", 1)]
    [card] = await jobs_of(handoffs, job_kinds.CARD_SYNC)
    assert card["attempts"] <= 2  # 429s are the platform's pacing, not failures


async def test_the_checklist_waits_for_the_assessment_then_goes_without_it(handoffs):
    port = RecordingPort()
    # No assessment job runs here: the assessment stays "in progress".
    worker = worker_for(handoffs, port, assess=False, checklist_wait=timedelta(seconds=0.4))
    h = await escalated(handoffs)
    await worker.drain()
    claimed = time.monotonic()
    await handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    await worker.drain(timeout_s=10)
    assert time.monotonic() - claimed >= 0.35
    assert [r.kind for _, r in port.replies] == ["claimed"]
    [reply] = await jobs_of(handoffs, job_kinds.THREAD_REPLY)
    assert (reply["state"], reply["attempts"]) == ("done", 1)


async def test_the_author_hears_the_card_is_posted_from_its_own_job(handoffs):
    port = RecordingPort()
    worker = worker_for(handoffs, port)
    h = await escalated(handoffs)
    await worker.drain()
    assert [(r.kind, r.key, r.person.external_id) for r in port.notified] == [("author_posted", "author_posted", "U-JUNIOR")]
    [job] = await jobs_of(handoffs, job_kinds.AUTHOR_POSTED)
    assert job["state"] == "done" and job["handoff_id"] == h.id


async def test_a_job_whose_payload_does_not_parse_fails_at_once_with_its_reason(handoffs):
    worker = worker_for(handoffs, RecordingPort())
    h = await escalated(handoffs)
    await worker.drain()
    async with handoffs.db.transaction() as conn:
        await outbox.enqueue(conn, kind=job_kinds.THREAD_REPLY, handoff_id=h.id,
                             payload={"reply": "conflict", "person_id": "U-CAROL"}, now=handoffs.clock())
    await worker.drain()
    [job] = await jobs_of(handoffs, job_kinds.THREAD_REPLY)
    assert (job["state"], job["attempts"]) == ("failed", 1)
    assert "payload does not name a person" in job["last_error"]
