"""Reading handoffs: single handoffs, the queue, parked items, the trail and stats."""

from __future__ import annotations

import statistics
import uuid
from datetime import datetime
from typing import Any

from core.models import HandoffState, Person, PersonKey, Stats, WorkspaceKey
from core.rows import handoff_from_row, person_from_row
from core.scope import Scoped
from db import store


class HandoffReads(Scoped):
    async def admins(self, *, workspace: WorkspaceKey) -> list[Person]:
        """The workspace's admins, earliest first: who to ask for a role or a channel move."""
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            return [person_from_row(r) for r in await store.list_admins(conn, workspace_id=ws_id)]

    async def get(self, *, workspace: WorkspaceKey, handoff_id: uuid.UUID) -> HandoffState | None:
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            row = await store.load_handoff(conn, handoff_id, workspace_id=ws_id)
            return handoff_from_row(row) if row else None

    async def find_by_card(self, *, workspace: WorkspaceKey, message_ref: str) -> HandoffState | None:
        """The handoff whose card is this message (thread replies, reactions)."""
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            handoff_id = await store.find_handoff_by_card(
                conn, workspace_id=ws_id, platform=workspace.platform, message_ref=message_ref
            )
            row = await store.load_handoff(conn, handoff_id, workspace_id=ws_id) if handoff_id else None
            return handoff_from_row(row) if row else None

    async def load(self, handoff_id: uuid.UUID) -> HandoffState | None:
        """By id alone: for jobs, which carry no workspace of their own."""
        async with self._transaction() as conn:
            row = await store.load_handoff(conn, handoff_id)
            return handoff_from_row(row) if row else None

    async def person(self, person_id: int) -> Person | None:
        async with self._transaction() as conn:
            row = await store.get_person(conn, person_id)
            return person_from_row(row) if row else None

    async def queue(self, *, workspace: WorkspaceKey, viewer: PersonKey, limit: int = 50) -> list[HandoffState]:
        """Open escalations, oldest first, without the viewer's own."""
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            me = await self._person(conn, ws_id, viewer)
            rows = await store.list_queue(conn, workspace_id=ws_id, exclude_person_id=me.id, limit=limit)
            return [handoff_from_row(r) for r in rows]

    async def newest_in_queue(self, *, workspace: WorkspaceKey, viewer: PersonKey, limit: int) -> tuple[list[HandoffState], int]:
        """The newest `limit` open escalations (without the viewer's own), and how many are open in all."""
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            me = await self._person(conn, ws_id, viewer)
            rows = await store.list_queue(conn, workspace_id=ws_id, exclude_person_id=me.id, limit=limit, newest_first=True)
            total = await store.count_queue(conn, workspace_id=ws_id, exclude_person_id=me.id)
            return [handoff_from_row(r) for r in rows], total

    async def parked(self, *, workspace: WorkspaceKey, person: PersonKey, limit: int = 50) -> list[HandoffState]:
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            me = await self._person(conn, ws_id, person)
            rows = await store.list_parked(conn, workspace_id=ws_id, person_id=me.id, limit=limit)
            return [handoff_from_row(r) for r in rows]

    async def events(self, handoff_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self._transaction() as conn:
            return [dict(r) for r in await store.list_events(conn, handoff_id=handoff_id)]

    async def stats(self, *, workspace: WorkspaceKey, since: datetime) -> Stats:
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            rows = await store.handoff_times(conn, workspace_id=ws_id, since=since)
        to_claim = [(r["claimed_at"] - r["escalated_at"]).total_seconds() for r in rows if r["claimed_at"]]
        to_action = [
            (r["first_action_at"] - r["escalated_at"]).total_seconds() for r in rows if r["first_action_at"]
        ]
        return Stats(
            count=len(rows),
            claimed=len(to_claim),
            time_to_claim_median_s=_median(to_claim),
            time_to_claim_p90_s=_p90(to_claim),
            time_to_first_action_median_s=_median(to_action),
            time_to_first_action_p90_s=_p90(to_action),
        )


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]
