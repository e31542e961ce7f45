"""What the queue looks like right now, read at scrape time so every replica reports the same truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import handoffs, jobs


@dataclass(frozen=True)
class QueueGauges:
    open_unclaimed: int
    overdue: int
    pending_jobs: dict[str, int]  # kind -> pending (due or not)
    oldest_due_job_age_s: float  # how long the longest-waiting due job has been due; 0 when none is


async def read_gauges(conn: AsyncConnection, *, now: datetime) -> QueueGauges:
    waiting = (handoffs.c.status == "open") & (handoffs.c.intent == "escalate")
    open_unclaimed, overdue = (
        await conn.execute(
            select(
                func.count().filter(waiting),
                func.count().filter(waiting & handoffs.c.overdue_at.is_not(None)),
            ).select_from(handoffs)
        )
    ).one()
    by_kind = await conn.execute(
        select(jobs.c.kind, func.count()).where(jobs.c.state == "pending").group_by(jobs.c.kind)
    )
    oldest = (
        await conn.execute(
            select(func.min(jobs.c.run_after)).where(jobs.c.state == "pending", jobs.c.run_after <= now)
        )
    ).scalar_one_or_none()
    if isinstance(oldest, str):  # SQLite hands aggregates back untyped
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=now.tzinfo)
    elif oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return QueueGauges(
        open_unclaimed=open_unclaimed,
        overdue=overdue,
        pending_jobs={kind: n for kind, n in by_kind.all()},
        oldest_due_job_age_s=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
    )
