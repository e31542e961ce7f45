"""Queries for reminders, snooze and workspace settings, inside the caller's transaction. Nothing commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import handoffs, people, workspaces


async def lock_handoff(conn: AsyncConnection, handoff_id: uuid.UUID) -> RowMapping | None:
    """The handoff's row, locked until the transaction ends (PostgreSQL), so a claim that lands while a
    reminder is being decided waits for it, and the reminder never sees a state older than the claim."""
    stmt = select(handoffs).where(handoffs.c.id == handoff_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).mappings().first()


async def workspace_settings(conn: AsyncConnection, workspace_id: int) -> dict[str, Any]:
    stmt = select(workspaces.c.settings).where(workspaces.c.id == workspace_id)
    return dict((await conn.execute(stmt)).scalar_one_or_none() or {})


async def update_workspace_settings(conn: AsyncConnection, *, workspace_id: int, changes: dict[str, Any]) -> dict:
    """Merge `changes` into the workspace's settings (a None value removes the key). Returns the result."""
    stmt = select(workspaces.c.settings).where(workspaces.c.id == workspace_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    settings = dict((await conn.execute(stmt)).scalar_one_or_none() or {})
    for key, value in changes.items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    await conn.execute(update(workspaces).where(workspaces.c.id == workspace_id).values(settings=settings))
    return settings


async def mark_overdue(conn: AsyncConnection, *, handoff_id: uuid.UUID, now: datetime) -> int | None:
    """Set overdue_at once (a visible change: the version moves so the card shows it)."""
    stmt = (
        update(handoffs)
        .where(handoffs.c.id == handoff_id, handoffs.c.status == "open", handoffs.c.overdue_at.is_(None))
        .values(overdue_at=now, version=handoffs.c.version + 1, updated_at=now)
        .returning(handoffs.c.version)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def snooze(
    conn: AsyncConnection, *, handoff_id: uuid.UUID, workspace_id: int, person_id: int, until: datetime, now: datetime
) -> bool:
    """Hold reminders off until `until`, if the person is the author or an admin and it is still waiting.
    A visible change (the card says so), so the version moves."""
    is_admin = (
        select(people.c.id)
        .where(people.c.id == person_id, people.c.workspace_id == workspace_id, people.c.role == "admin")
        .exists()
    )
    stmt = (
        update(handoffs)
        .where(
            handoffs.c.id == handoff_id,
            handoffs.c.workspace_id == workspace_id,
            handoffs.c.status == "open",
            handoffs.c.intent == "escalate",
            (handoffs.c.created_by == person_id) | is_admin,
        )
        .values(snoozed_until=until, version=handoffs.c.version + 1, updated_at=now)
        .returning(handoffs.c.version)
    )
    return (await conn.execute(stmt)).scalar_one_or_none() is not None


async def end_snooze(conn: AsyncConnection, *, handoff_id: uuid.UUID, until: datetime, now: datetime) -> int | None:
    """Clear a snooze that ran out, if it is still the one that ends at `until` (not re-snoozed, not
    released): the card changes, so the version moves. The new version, or None if nothing changed."""
    stmt = (
        update(handoffs)
        .where(handoffs.c.id == handoff_id, handoffs.c.snoozed_until == until)
        .values(snoozed_until=None, version=handoffs.c.version + 1, updated_at=now)
        .returning(handoffs.c.version)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def admin_ids(conn: AsyncConnection, *, workspace_id: int) -> list[int]:
    stmt = select(people.c.id).where(people.c.workspace_id == workspace_id, people.c.role == "admin").order_by(people.c.id)
    return list((await conn.execute(stmt)).scalars().all())
