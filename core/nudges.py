"""Reminder jobs: decide, once, whether a nudge is due, and enqueue the messages that say it.

Each step is an outbox job with a due time (core/jobs.remind_step). When it runs it locks the
handoff's row and checks the state as it is now: claimed, closed or re-armed since (a release) ->
nothing; snoozed -> the job waits until the snooze ends, without spending a try. Otherwise it records
a `nudged` event under a key unique to (handoff, arming, step) and, in the same transaction, the thread
reply, the direct messages and the next step. A replay, a restart or a second replica finds the key
taken and sends nothing: exactly one nudge per step. The messages themselves are delivery jobs with
their own idempotency keys (core/delivery.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import jobs as job_kinds
from core import telemetry
from core.errors import RetryLater
from core.handoffs import Handoffs
from core.jobs import epoch_ms
from core.models import Job
from core.worker import JobKind
from db import outbox, store
from db import reminders as reminders_db


@dataclass
class _Decision:
    jobs: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    wait_s: float | None = None  # snoozed: run again after this long


class Nudges:
    def __init__(self, handoffs: Handoffs) -> None:
        self.handoffs = handoffs

    def job_kinds(self) -> dict[str, JobKind]:
        return {job_kinds.REMIND: JobKind(self.step), job_kinds.FIRST_ACTION_NUDGE: JobKind(self.first_action),
                job_kinds.SNOOZE_END: JobKind(self.snooze_end)}

    async def step(self, job: Job) -> None:
        now = self.handoffs.clock()
        async with self.handoffs.db.transaction() as conn:
            decision = await self._decide_step(conn, job, now)
            await outbox.enqueue_all(conn, decision.jobs)
        if decision.wait_s is not None:
            raise RetryLater("reminders snoozed", delay_s=decision.wait_s, attempt_used=False)
        for kind, n in decision.counts.items():
            self.handoffs.telemetry.count(telemetry.NUDGES, n, kind=kind)

    async def _decide_step(self, conn, job: Job, now: datetime) -> _Decision:
        decision = _Decision()
        step, base_ms = int(job.payload["step"]), int(job.payload["from_ms"])
        row = await reminders_db.lock_handoff(conn, job.handoff_id)
        if row is None or row["status"] != "open" or row["intent"] != "escalate":
            return decision  # claimed, resolved, cancelled or gone: reminders stop
        if row["reminders_from"] is None or epoch_ms(row["reminders_from"]) != base_ms:
            return decision  # re-armed since (released): that arming's own jobs take over
        if row["snoozed_until"] is not None and row["snoozed_until"] > now:
            decision.wait_s = (row["snoozed_until"] - now).total_seconds()
            return decision
        settings = await reminders_db.workspace_settings(conn, row["workspace_id"])
        policy = self.handoffs.reminders.with_steps(settings.get("reminders"))
        urgency = (row["snapshot"] or {}).get("urgency", "normal")
        last = step + 1 >= len(policy.steps)
        waited_s = int((now - row["reminders_from"]).total_seconds())
        key = f"nudge:{row['id']}:{base_ms}:{step}"
        first = await store.insert_event(
            conn, workspace_id=row["workspace_id"], handoff_id=row["id"], kind="nudged", dedupe_key=key,
            data={"step": step + 1, "of": len(policy.steps), "waited_s": waited_s, "last": last}, now=now,
        )
        if not first:
            return decision  # this step already went out (a replay, or another replica)
        common = {"handoff_id": row["id"], "now": now, "waited_s": waited_s, "step": step + 1, "of": len(policy.steps)}
        decision.jobs.append(job_kinds.message(
            job_kinds.THREAD_REPLY, reply="nudge", person_id=row["created_by"], key=f"{key}:thread", **common))
        decision.counts["thread"] = 1
        if row["target_id"] is not None:
            decision.jobs.append(job_kinds.message(
                job_kinds.NOTIFY_TARGET, reply="nudge_target", person_id=row["target_id"], key=f"{key}:target", **common))
            decision.counts["target_dm"] = 1
        if last:
            await self._overdue(conn, row, key, common, decision)
        else:
            decision.jobs.append(self._next_step(row, policy, urgency, step, now))
        return decision

    async def _overdue(self, conn, row, key: str, common: dict, decision: _Decision) -> None:
        """After the last nudge: the card shows "Overdue" and every admin hears about it once."""
        now = common["now"]
        if await reminders_db.mark_overdue(conn, handoff_id=row["id"], now=now) is not None:
            decision.jobs.append(job_kinds.card_sync(row["id"], now=now))
        admins = await reminders_db.admin_ids(conn, workspace_id=row["workspace_id"])
        for admin_id in admins:
            decision.jobs.append(job_kinds.message(
                job_kinds.NOTIFY_TARGET, reply="overdue_admin", person_id=admin_id, key=f"{key}:admin:{admin_id}",
                **common))
        if admins:
            decision.counts["admin_dm"] = len(admins)

    @staticmethod
    def _next_step(row, policy, urgency: str, step: int, now: datetime) -> dict[str, Any]:
        """The next step at its scheduled time, but never closer to this one than the schedule's gap
        (a nudge sent late, after a snooze, does not make the next one fire straight after it)."""
        this_due, next_due = policy.due_after(step, urgency), policy.due_after(step + 1, urgency)
        due = max(row["reminders_from"] + next_due, now + (next_due - this_due))
        return job_kinds.remind_step(row["id"], base=row["reminders_from"], step=step + 1, due=due, now=now)

    async def snooze_end(self, job: Job) -> None:
        """A snooze ran out: clear it, if it is still this one, so the card is re-rendered without it."""
        now = self.handoffs.clock()
        async with self.handoffs.db.transaction() as conn:
            row = await reminders_db.lock_handoff(conn, job.handoff_id)
            until = row["snoozed_until"] if row is not None else None
            if until is None or epoch_ms(until) != int(job.payload["until_ms"]):
                return  # released, snoozed again (that snooze has its own job) or gone
            if until > now:  # this replica's clock is behind the one that scheduled it
                raise RetryLater("snooze not over yet", delay_s=(until - now).total_seconds(), attempt_used=False)
            if await reminders_db.end_snooze(conn, handoff_id=row["id"], until=until, now=now) is not None:
                await store.insert_event(conn, workspace_id=row["workspace_id"], handoff_id=row["id"],
                                         kind="snooze_ended", data={"until": until.isoformat()}, now=now)
                await outbox.enqueue_all(conn, [job_kinds.card_sync(row["id"], now=now)])

    async def first_action(self, job: Job) -> None:
        """The owner picked it up and has done nothing visible since: tell them privately, once."""
        now = self.handoffs.clock()
        person_id, claimed_ms = int(job.payload["person_id"]), int(job.payload["claimed_ms"])
        sent = False
        async with self.handoffs.db.transaction() as conn:
            row = await reminders_db.lock_handoff(conn, job.handoff_id)
            if (
                row is None or row["status"] != "claimed" or row["claimed_by"] != person_id
                or row["claimed_at"] is None or epoch_ms(row["claimed_at"]) != claimed_ms
                or row["first_action_at"] is not None
            ):
                return
            key = f"first_action_nudge:{row['id']}:{claimed_ms}"
            idle_s = int((now - row["claimed_at"]).total_seconds())
            if await store.insert_event(
                conn, workspace_id=row["workspace_id"], handoff_id=row["id"], kind="first_action_nudged",
                actor_id=person_id, dedupe_key=key, data={"idle_s": idle_s}, now=now,
            ):
                await outbox.enqueue_all(conn, [job_kinds.message(
                    job_kinds.NOTIFY_TARGET, handoff_id=row["id"], reply="first_action", person_id=person_id,
                    key=key, now=now, idle_s=idle_s)])
                sent = True
        if sent:
            self.handoffs.telemetry.count(telemetry.NUDGES, kind="first_action")

