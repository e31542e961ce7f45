"""The job worker: leases due jobs from the outbox, runs them, retries with capped backoff.

PostgreSQL: many workers in many processes, claim with SKIP LOCKED, woken by LISTEN/NOTIFY with
polling as the fallback. SQLite: one in-process worker loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import PermanentFailure, RetryLater
from core.jobs import TIMER_KINDS
from core.models import Job
from db import outbox, store
from db.engine import Database
from db.errors import DatabaseUnavailable
from db.tables import utcnow

log = logging.getLogger("handoff.worker")


@dataclass(frozen=True)
class JobKind:
    run: Callable[[Job], Awaitable[None]]
    # Called once when the job is out of tries, to leave a visible state behind.
    on_failed: Callable[[Job, str], Awaitable[None]] | None = None


def backoff_delay(attempt: int, *, base_s: float, cap_s: float) -> float:
    """Capped exponential backoff with jitter: ~base, 2*base, 4*base ... never past cap."""
    raw = min(cap_s, base_s * (2 ** max(0, attempt - 1)))
    return raw * random.uniform(0.75, 1.0)


def _job_from_row(row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        handoff_id=row["handoff_id"],
        payload=row["payload"] or {},
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        dedupe_key=row["dedupe_key"],
        last_error=row["last_error"],
    )


def _describe(error: BaseException) -> str:
    text = str(error) or error.__class__.__name__
    return f"{error.__class__.__name__}: {text}"[:2000]


class Worker:
    MAX_PAUSE_S = 10.0  # the longest a loop waits before trying the database again

    def __init__(
        self,
        database: Database,
        kinds: dict[str, JobKind],
        *,
        worker_id: str | None = None,
        concurrency: int = 4,
        lease_s: float = 60.0,
        poll_s: float = 1.0,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = database
        self.kinds = kinds
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # SQLite takes one writer at a time; one loop keeps its lock waits (and shutdowns) short.
        self.concurrency = concurrency if database.is_postgresql else 1
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.clock = clock
        self._wake = asyncio.Event()
        # Why the loops are not running jobs right now (the database is away, say); None when they are.
        self.problem: str | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run_one(self) -> bool:
        """Lease and run one due job. Returns False when nothing was due."""
        async with self.db.transaction() as conn:
            row = await outbox.claim_next(
                conn, worker_id=self.worker_id, now=self.clock(), lease_s=self.lease_s, kinds=list(self.kinds)
            )
        if row is None:
            return False
        job = _job_from_row(row)
        kind = self.kinds[job.kind]
        heartbeat = asyncio.create_task(self._heartbeat(job.id))
        try:
            await kind.run(job)
        except asyncio.CancelledError:
            raise  # a dying worker leaves the lease to expire; another worker takes the job
        except RetryLater as error:
            delay = error.delay_s if error.delay_s is not None else self._delay(job.attempts)
            await self._retry_or_fail(job, kind, _describe(error), delay, refund=not error.attempt_used)
        except PermanentFailure as error:
            await self._fail(job, kind, _describe(error))
        except Exception as error:  # noqa: BLE001 - any other failure is retried, then recorded
            log.warning("job %s %s attempt %d failed: %s", job.id, job.kind, job.attempts, _describe(error))
            await self._retry_or_fail(job, kind, _describe(error), self._delay(job.attempts))
        else:
            async with self.db.transaction() as conn:
                await outbox.complete(conn, job_id=job.id, worker_id=self.worker_id, now=self.clock())
        finally:
            heartbeat.cancel()
            # gather, not suppress(CancelledError): a cancellation of this worker must not be swallowed.
            await asyncio.gather(heartbeat, return_exceptions=True)
        return True

    def _delay(self, attempts: int) -> float:
        return backoff_delay(attempts, base_s=self.backoff_base_s, cap_s=self.backoff_cap_s)

    async def _retry_or_fail(
        self, job: Job, kind: JobKind, error: str, delay_s: float, *, refund: bool = False
    ) -> None:
        if job.attempts >= job.max_attempts and not refund:
            await self._fail(job, kind, error)
            return
        now = self.clock()
        async with self.db.transaction() as conn:
            await outbox.reschedule(
                conn,
                job_id=job.id,
                worker_id=self.worker_id,
                now=now,
                run_after=now + timedelta(seconds=delay_s),
                error=error,
                refund_attempt=refund,
            )

    async def _fail(self, job: Job, kind: JobKind, error: str) -> None:
        log.error("job %s %s failed for good after %d attempts: %s", job.id, job.kind, job.attempts, error)
        if kind.on_failed is not None:
            try:
                await kind.on_failed(job, error)
            except Exception:  # the job is still marked failed below, with its own error
                log.exception("on_failed hook of job %s raised", job.id)
        async with self.db.transaction() as conn:
            await outbox.fail(conn, job_id=job.id, worker_id=self.worker_id, now=self.clock(), error=error)
            if job.handoff_id is not None:
                row = await store.load_handoff(conn, job.handoff_id)
                if row is not None:
                    await store.insert_event(
                        conn,
                        workspace_id=row["workspace_id"],
                        handoff_id=job.handoff_id,
                        kind="job_failed",
                        data={"job": job.kind, "attempts": job.attempts, "error": error},
                        now=self.clock(),
                    )

    async def _heartbeat(self, job_id: int) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                async with self.db.transaction() as conn:
                    await outbox.extend_lease(
                        conn, job_id=job_id, worker_id=self.worker_id, now=self.clock(), lease_s=self.lease_s
                    )
            except Exception as error:  # noqa: BLE001 - the next beat tries again; the lease covers a gap
                log.warning("could not extend the lease of job %s: %s", job_id, _describe(error))

    async def drain(self, *, timeout_s: float = 30.0) -> int:
        """Run jobs until none is pending (tests, the demo). Returns how many ran. Timers (reminders,
        the assessment deadline) run if due, but one due later is not work left to wait for."""
        ran = 0
        deadline = asyncio.get_running_loop().time() + timeout_s
        work = [kind for kind in self.kinds if kind not in TIMER_KINDS]
        while asyncio.get_running_loop().time() < deadline:
            if await self.run_one():
                ran += 1
                continue
            async with self.db.transaction() as conn:
                due_in = await outbox.next_due_in(conn, now=self.clock(), kinds=work)
                running = await outbox.count_running(conn, kinds=work)
            if due_in is None and running == 0:
                return ran
            await asyncio.sleep(min(0.05 if due_in is None else max(due_in, 0.01), 0.25))
        return ran

    async def run(self) -> None:
        """Run until cancelled: `concurrency` loops, woken by NOTIFY (PostgreSQL) or by polling."""
        listener = outbox.Listener(self.db, self.wake) if self.db.is_postgresql else None
        self.db.on_jobs_committed.append(self.wake)
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(self.db.on_jobs_committed.remove, self.wake)
            if listener is not None:
                try:
                    await stack.enter_async_context(listener)
                except Exception as error:  # polling still works without LISTEN
                    log.warning("LISTEN unavailable, polling every %.1fs: %s", self.poll_s, _describe(error))
            loops = [asyncio.create_task(self._loop()) for _ in range(self.concurrency)]
            try:
                await asyncio.gather(*loops)
            finally:
                for task in loops:
                    task.cancel()
                await asyncio.gather(*loops, return_exceptions=True)

    async def _loop(self) -> None:
        """Run jobs until cancelled. No error ends it: a database that is away (restarting, refusing
        connections) or anything unexpected is logged, backed off from, and tried again."""
        failures = 0
        while True:
            try:
                ran = await self.run_one()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the loop outlives any one failure
                failures += 1
                pause = backoff_delay(failures, base_s=self.poll_s, cap_s=max(self.poll_s, self.MAX_PAUSE_S))
                self.problem = f"{_describe(error)} (retrying every {pause:.1f}s)"
                if isinstance(error, DatabaseUnavailable):
                    log.warning("worker: %s; retrying in %.1fs", error, pause)
                else:
                    log.exception("worker: unexpected error; retrying in %.1fs", pause)
                await asyncio.sleep(pause)
                continue
            if failures:
                log.info("worker: running jobs again after %d failed tries", failures)
                failures, self.problem = 0, None
            if ran:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
