"""Diagnostic assessment of a handoff, as a durable job: the model's read, or a labelled heuristic.

One `assess` job per escalation (it commits with the handoff). The job:
- no assessor (no API key): stores the heuristic assessment, state `skipped`;
- otherwise asks the assessor once per attempt. A valid answer is stored, state `ready`. Transient
  errors (429, 529, 5xx, timeouts) go back to the queue with backoff; malformed or schema-invalid
  output is retried once; a refusal or a rejected request is final. When the job is out of tries its
  on_failed hook stores the heuristic, state `failed`. Every try and error lands in the event trail.

Exactly one model call per handoff: the answer, the state change and its event commit in one
transaction, and the job checks `assessment_state` before it calls, so a replayed job (lease taken
over after a crash, a duplicate run) finds the answer stored and calls nothing. `assessment_requested`
is written before each call, so the trail shows every call made. The one window left is a crash
between the answer arriving and that commit (or during the call itself): the replay then calls again.
We accept that rather than skip the model after a crash, because a restart during a multi-second
call (a deploy) is far likelier than a duplicate is costly, and the trail still shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.text import FIELD_CHARS, LIST_ITEM_CHARS, MAX_LIST_ITEMS, neutralize_mentions, one_line, tidy_paragraphs, truncate
from core import jobs as job_kinds
from core import telemetry
from core import observers
from core.jobs import ASSESS_MAX_ATTEMPTS
from core.budget import CallSlots, LocalCallSlots
from core.errors import DatabaseUnavailable, PermanentFailure, RetryLater
from core.handoffs import Handoffs
from core.heuristic import heuristic_assessment
from core.models import HandoffState, Job
from core.snapshot import Snapshot
from core.worker import JobKind, backoff_delay
from db import outbox, store
from db.store import OPEN_ASSESSMENT_STATES

log = logging.getLogger("handoff.assessment")

CONFIDENCES = ("low", "medium", "high")
SLOT_MARGIN_S = 5.0  # a model-call slot's lease: the call's own deadline plus this
MIN_STEPS, MAX_STEPS = 3, 6

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Assessment(BaseModel):
    """What the model must answer: sent as the JSON schema, validated on the way back.

    Structure is strict (a wrong shape is retried); length is not, since long text is simply cut
    when stored.
    """

    model_config = ConfigDict(extra="forbid")

    summary: _Text = Field(description="Two or three sentences: what is most likely going on, from the evidence only.")
    likely_causes: list[_Text] = Field(
        min_length=1, max_length=MAX_LIST_ITEMS, description="The likely causes, most likely first."
    )
    confidence: Literal["low", "medium", "high"] = Field(
        description="How strongly the evidence supports the most likely cause."
    )
    next_steps: list[_Text] = Field(
        min_length=MIN_STEPS,
        max_length=MAX_STEPS,
        description="3 to 6 concrete steps for a senior engineer, in the order to do them.",
    )


@dataclass(frozen=True)
class ModelAnswer:
    assessment: Assessment
    model: str
    input_tokens: int
    output_tokens: int
    latency_ms: int
    request_id: str | None = None

    def trail(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "latency_ms": self.latency_ms,
            "request_id": self.request_id,
        }


TRANSIENT = frozenset({"rate_limited", "overloaded", "server_error", "timeout", "connection"})
INVALID_OUTPUT = frozenset({"malformed", "schema_invalid"})
# Everything else ("refusal", "rejected") is final: asking again will not help.

REASONS = {
    "rate_limited": "the model API kept rate-limiting us",
    "overloaded": "the model API was overloaded",
    "server_error": "the model API kept failing",
    "timeout": "the model did not answer in time",
    "connection": "the model API could not be reached",
    "malformed": "the model's answer was not valid JSON",
    "schema_invalid": "the model's answer did not have the expected shape",
    "refusal": "the model declined to assess this escalation",
    "rejected": "the model API rejected the request",
}


class AssessmentError(Exception):
    """One model call that produced no usable assessment. `kind` is a key of REASONS."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retry_after_s: float | None = None,
        status: int | None = None,
        request_id: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        latency_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s
        self.status = status
        self.request_id = request_id
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.latency_ms = latency_ms

    @property
    def retryable(self) -> bool:
        return self.kind in TRANSIENT or self.kind in INVALID_OUTPUT

    def trail(self) -> dict[str, Any]:
        data = {
            "kind": self.kind,
            "error": str(self)[:500],
            "status": self.status,
            "retry_after_s": self.retry_after_s,
            "request_id": self.request_id,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "latency_ms": self.latency_ms,
        }
        return {k: v for k, v in data.items() if v is not None}


class Assessor(Protocol):
    model: str
    call_deadline_s: float  # the longest one assess() can take, SDK retries included

    async def assess(self, snapshot: Snapshot) -> ModelAnswer:
        """The model's assessment, or AssessmentError."""


def stored_assessment(data: Mapping[str, Any], *, source: str, note: str = "", model: str | None = None) -> dict:
    """The JSON kept on the handoff: untrusted text made mention-free, tidy and cut to card limits."""

    def items(values: Any) -> list[str]:
        lines = [one_line(str(v)) for v in (values if isinstance(values, (list, tuple)) else [])]
        return [truncate(neutralize_mentions(v), LIST_ITEM_CHARS) for v in lines if v][:MAX_LIST_ITEMS]

    confidence = str(data.get("confidence", "")).strip().lower()
    stored = {
        "summary": truncate(neutralize_mentions(tidy_paragraphs(str(data.get("summary", "")))), FIELD_CHARS),
        "likely_causes": items(data.get("likely_causes")),
        "confidence": confidence if confidence in CONFIDENCES else "low",
        "next_steps": items(data.get("next_steps")),
        "source": source,
    }
    if note:
        stored["note"] = truncate(neutralize_mentions(one_line(note)), LIST_ITEM_CHARS)
    if model:
        stored["model"] = model
    return stored


def fallback(snapshot: Snapshot, reason: str) -> dict:
    note = f"Not from the model: {reason}. Built from the escalation's own details."
    return stored_assessment(heuristic_assessment(snapshot), source="heuristic", note=note)


NO_KEY = "no Anthropic API key is configured"
CLOSED = "the escalation was closed before the assessment ran"


class Assessments:
    def __init__(
        self,
        handoffs: Handoffs,
        assessor: Assessor | None,
        *,
        retry_base_s: float = 2.0,
        retry_cap_s: float = 30.0,
        slots: CallSlots | None = None,
    ) -> None:
        self.handoffs = handoffs
        self.assessor = assessor
        self.slots = slots or LocalCallSlots()  # the model-call bound across replicas (PostgreSQL)
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s  # also caps a server's retry-after: the job waits, no worker does

    def job_kinds(self) -> dict[str, JobKind]:
        return {
            job_kinds.ASSESS: JobKind(self.run, self.give_up),
            job_kinds.ASSESS_DEADLINE: JobKind(self.deadline),
        }

    def budget_s(self, *, max_attempts: int = ASSESS_MAX_ATTEMPTS, poll_s: float = 1.0) -> float:
        """Worst case from the job's first run to a final state: every try times out, every wait is capped."""
        call_s = self.assessor.call_deadline_s if self.assessor else 0.0
        return max_attempts * (call_s + poll_s) + (max_attempts - 1) * self.retry_cap_s

    async def run(self, job: Job) -> None:
        state = await self.handoffs.load(job.handoff_id)
        if state is None or state.assessment_state not in OPEN_ASSESSMENT_STATES:
            return  # already assessed: a replay makes no second call
        if self.assessor is None:
            await self._apply(state, "skipped", fallback(state.snapshot, NO_KEY), {"reason": "no_api_key"})
            return
        if state.status in ("resolved", "cancelled"):
            await self._apply(state, "skipped", fallback(state.snapshot, CLOSED), {"reason": "closed"})
            return
        holder = f"job:{job.id}:{job.attempts}"
        slot = await self.slots.acquire(holder, lease_s=self.assessor.call_deadline_s + SLOT_MARGIN_S)
        if slot is None:  # every replica together is at the bound: wait for a slot, spend no try
            raise RetryLater("every model-call slot is busy", delay_s=1.0, attempt_used=False)
        await self._record(state, "assessment_requested", {"model": self.assessor.model, "job_attempt": job.attempts})
        try:
            answer = await self._ask(state.snapshot, slot, holder)
        except AssessmentError as error:
            self._measure(error.kind, error.input_tokens, error.output_tokens, error.latency_ms)
            await self._record(state, "assessment_error", {**error.trail(), "job_attempt": job.attempts})
            raise await self._next_move(state, job, error) from error
        self._measure("ok", answer.input_tokens, answer.output_tokens, answer.latency_ms)
        stored = stored_assessment(answer.assessment.model_dump(), source="model", model=answer.model)
        current = await self.handoffs.load(state.id)  # the deadline may have passed during the call
        if current is not None and current.assessment_state == "interim":  # the card shows the fallback
            stored["replaced_fallback_at"] = self.handoffs.clock().isoformat()
        await self._apply(state, "ready", stored, answer.trail())

    async def _ask(self, snapshot: Snapshot, slot: int, holder: str):
        """One model call in a held slot, given back as soon as the call ends (its lease covers a crash)."""
        try:
            return await self.assessor.assess(snapshot)
        finally:
            try:
                await self.slots.release(slot, holder)
            except DatabaseUnavailable as error:
                log.warning("model-call slot %s not given back (its lease frees it): %s", slot, error)

    def _measure(self, outcome: str, input_tokens: int, output_tokens: int, latency_ms: int | None) -> None:
        metrics = self.handoffs.telemetry
        metrics.count(telemetry.MODEL_CALLS, outcome=outcome)
        metrics.count(telemetry.MODEL_TOKENS, input_tokens, direction="input")
        metrics.count(telemetry.MODEL_TOKENS, output_tokens, direction="output")
        if latency_ms is not None:
            metrics.observe(telemetry.MODEL_LATENCY, latency_ms / 1000)

    async def deadline(self, job: Job) -> None:
        """The model has not answered within the deadline: show the labelled fallback now. The assess
        job keeps trying; a model answer that comes later replaces this one."""
        state = await self.handoffs.load(job.handoff_id)
        if state is None or state.assessment_state != "pending" or self.assessor is None:
            return
        waited = round(self.handoffs.assessment_deadline.total_seconds())
        interim = fallback(state.snapshot, f"the model has not answered after {waited} s; "
                                           "its assessment replaces this one if it answers")
        await self._apply(state, "interim", interim, {"reason": "deadline"})

    async def _next_move(self, state: HandoffState, job: Job, error: AssessmentError) -> Exception:
        """RetryLater (with backoff, or the server's retry-after, capped) or PermanentFailure."""
        message = f"{error.kind}: {error}"
        if not error.retryable:
            return PermanentFailure(message)
        if error.kind in INVALID_OUTPUT and await self._invalid_outputs(state) > 1:
            return PermanentFailure(f"{message} (invalid output twice)")
        if error.retry_after_s is not None:
            delay = min(max(error.retry_after_s, 0.0), self.retry_cap_s)
        else:
            delay = backoff_delay(job.attempts, base_s=self.retry_base_s, cap_s=self.retry_cap_s)
        return RetryLater(message, delay_s=delay)

    async def _invalid_outputs(self, state: HandoffState) -> int:
        trail = await self.handoffs.events(state.id)
        return sum(1 for e in trail if e["kind"] == "assessment_error" and e["data"].get("kind") in INVALID_OUTPUT)

    async def give_up(self, job: Job, error: str) -> None:
        """Out of tries: the heuristic fills the card, labelled with why the model's read is missing."""
        state = await self.handoffs.load(job.handoff_id)
        if state is None or state.assessment_state not in OPEN_ASSESSMENT_STATES:
            return
        trail = await self.handoffs.events(state.id)
        kinds = [e["data"].get("kind") for e in trail if e["kind"] == "assessment_error"]
        reason = REASONS.get(kinds[-1], "the assessment failed") if kinds else "the assessment failed"
        await self._apply(state, "failed", fallback(state.snapshot, reason), {"error": error[:500]})

    async def _record(self, state: HandoffState, kind: str, data: dict[str, Any]) -> None:
        async with self.handoffs.db.transaction() as conn:
            await store.insert_event(
                conn, workspace_id=state.workspace.id, handoff_id=state.id, kind=kind, data=data,
                now=self.handoffs.clock(),
            )

    async def _apply(self, state: HandoffState, outcome: str, assessment: dict, data: dict[str, Any]) -> bool:
        """Store the outcome if the handoff still waits for one (idempotent); bump version, sync the card."""
        now = self.handoffs.clock()
        async with self.handoffs.db.transaction() as conn:
            version = await store.set_assessment(
                conn, handoff_id=state.id, state=outcome, assessment=assessment, now=now
            )
            kind = f"assessment_{outcome}" if version is not None else "assessment_discarded"
            await store.insert_event(
                conn, workspace_id=state.workspace.id, handoff_id=state.id, kind=kind,
                data={**data, "outcome": outcome, "version": version}, now=now,
            )
            if version is None:
                return False
            if state.card is not None:
                await outbox.enqueue_all(conn, [job_kinds.card_sync(state.id, now=now)])
            await observers.tell(conn, self.handoffs.observers, state, event="assessed", version=version, now=now,
                                 outcome=outcome)
            return True
