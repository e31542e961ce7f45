"""Storage for the PSA integration: per-workspace connections, and what the note jobs look up."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from db.store import dialect_insert
from db.tables import events, jobs, psa_connections


async def save_connection(
    conn: AsyncConnection, *, workspace_id: int, sealed: dict[str, Any], person_id: int | None, now: datetime
) -> None:
    """Set (or replace) a workspace's one PSA connection; `sealed` has kind, settings, encrypted secrets."""
    values = {"workspace_id": workspace_id, "updated_by": person_id, "updated_at": now, **sealed}
    stmt = dialect_insert(conn, psa_connections).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["workspace_id"],
                                      set_={k: stmt.excluded[k] for k in values if k != "workspace_id"})
    await conn.execute(stmt)


async def delete_connection(conn: AsyncConnection, *, workspace_id: int) -> bool:
    """Remove a workspace's stored connection; False when it had none."""
    result = await conn.execute(delete(psa_connections).where(psa_connections.c.workspace_id == workspace_id))
    return result.rowcount > 0


async def get_connection(conn: AsyncConnection, *, workspace_id: int) -> RowMapping | None:
    stmt = select(psa_connections).where(psa_connections.c.workspace_id == workspace_id)
    return (await conn.execute(stmt)).mappings().first()


async def find_event(conn: AsyncConnection, *, dedupe_key: str) -> RowMapping | None:
    return (await conn.execute(select(events).where(events.c.dedupe_key == dedupe_key))).mappings().first()


async def earlier_unfinished(
    conn: AsyncConnection, *, handoff_id: uuid.UUID, kind: str, job_id: int
) -> datetime | None:
    """When the earliest still-unfinished job of `kind` for this handoff, queued before `job_id`, is due
    (None when every earlier one is done or failed): notes keep the order of the events."""
    stmt = (
        select(jobs.c.run_after)
        .where(jobs.c.handoff_id == handoff_id, jobs.c.kind == kind, jobs.c.id < job_id,
               jobs.c.state.in_(("pending", "running")))
        .order_by(jobs.c.run_after)
        .limit(1)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()
