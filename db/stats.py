"""Reads for stats and the pilot report, inside the caller's transaction. Nothing commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import handoffs, people, workspaces


async def escalation_history(
    conn: AsyncConnection, *, since: datetime, until: datetime, workspace_id: int | None = None
) -> Sequence[RowMapping]:
    """Every escalation made in [since, until): its times, snapshot (for urgency) and who picked it up."""
    stmt = (
        select(
            handoffs.c.workspace_id,
            handoffs.c.escalated_at,
            handoffs.c.claimed_at,
            handoffs.c.first_action_at,
            handoffs.c.status,
            handoffs.c.snapshot,
            people.c.external_id.label("claimer_external_id"),
            people.c.display_name.label("claimer_name"),
            workspaces.c.name.label("workspace_name"),
        )
        .join(workspaces, workspaces.c.id == handoffs.c.workspace_id)
        .outerjoin(people, people.c.id == handoffs.c.claimed_by)
        .where(
            handoffs.c.intent == "escalate",
            handoffs.c.escalated_at >= since,
            handoffs.c.escalated_at < until,
        )
        .order_by(handoffs.c.escalated_at)
    )
    if workspace_id is not None:
        stmt = stmt.where(handoffs.c.workspace_id == workspace_id)
    return (await conn.execute(stmt)).mappings().all()


async def waiting_now(conn: AsyncConnection, *, workspace_id: int) -> tuple[int, int]:
    """(open and unclaimed, of which overdue) in one workspace, now."""
    waiting = (handoffs.c.status == "open") & (handoffs.c.intent == "escalate")
    stmt = select(
        func.count().filter(waiting), func.count().filter(waiting & handoffs.c.overdue_at.is_not(None))
    ).where(handoffs.c.workspace_id == workspace_id)
    return tuple((await conn.execute(stmt)).one())


async def find_workspace_id(conn: AsyncConnection, *, external_id: str) -> int | None:
    stmt = select(workspaces.c.id).where(workspaces.c.external_id == external_id)
    return (await conn.execute(stmt)).scalars().first()
