"""Reading handoffs: single handoffs, the queue, parked items, the trail and stats."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from core.models import HandoffState, Person, PersonKey, Refused, Stats, WorkspaceKey
from core.rows import handoff_from_row, person_from_row
from core.scope import Scoped
from core.stats import Report, build_report, escalation_from_row, summarize
from db import stats as stats_db
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

    async def stats(self, *, workspace: WorkspaceKey, days: int = 7, asked_for: str | None = None) -> Stats | Refused:
        """The last `days` days of this workspace's escalations, and what waits now. `asked_for`: the
        workspace a request names (a button carries it); stats are only ever the asker's own workspace's."""
        if asked_for is not None and asked_for != workspace.external_id:
            return Refused("other_workspace")
        until = self.clock()
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            rows = await stats_db.escalation_history(
                conn, since=until - timedelta(days=days), until=until + timedelta(microseconds=1), workspace_id=ws_id
            )
            open_now, overdue_now = await stats_db.waiting_now(conn, workspace_id=ws_id)
        items = [escalation_from_row(r) for r in rows]
        return summarize(items, until=until, days=days, open_now=open_now, overdue_now=overdue_now)

    async def report(
        self, *, since: datetime, until: datetime, baseline_min: float | None, workspace_external_id: str | None = None
    ) -> Report | None:
        """The pilot report over every workspace (or one, by its Slack team / Teams tenant id); None if
        that workspace is unknown."""
        async with self._transaction() as conn:
            ws_id = None
            if workspace_external_id is not None:
                ws_id = await stats_db.find_workspace_id(conn, external_id=workspace_external_id)
                if ws_id is None:
                    return None
            rows = await stats_db.escalation_history(conn, since=since, until=until, workspace_id=ws_id)
        items = [escalation_from_row(r) for r in rows]
        return build_report(items, since=since, until=until, baseline_min=baseline_min)
