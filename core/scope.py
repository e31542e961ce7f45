"""What every handoff call shares: the database, the clock, and one transaction that learns ids."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from core.models import Person, PersonKey, Workspace, WorkspaceKey
from core.rows import person_from_row, workspace_from_row
from core.schedule import ReminderPolicy
from core.telemetry import NoTelemetry, Telemetry
from db import store
from db.engine import Database
from db.tables import utcnow

_LEARNED = "handoff.learned_ids"


class Scoped:
    """Workspace- and person-scoped access to the store (DESIGN invariant 6)."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        observers: tuple[str, ...] = (),
        reminders: ReminderPolicy | None = None,
        telemetry: Telemetry | None = None,
        assessment_deadline: timedelta = timedelta(seconds=60),
    ) -> None:
        self.db = database
        self.clock = clock
        # Job kinds (registered by integrations, e.g. PSA notes) told about each change of a handoff
        # that names a ticket; the core knows only their names.
        self.observers = observers
        self.reminders = reminders or ReminderPolicy()
        self.assessment_deadline = assessment_deadline
        self.telemetry: Telemetry = telemetry or NoTelemetry()
        self._workspace_ids: dict[tuple[str, str], int] = {}
        # (workspace id, external id) -> (person id, display name, chat id). Ids never change, so the hot
        # claim path skips the upsert; roles are not cached (the claim checks them in SQL).
        self._person_ids: dict[tuple[int, str], tuple[int, str]] = {}

    # --- workspaces and people -----------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self, *, one_statement: bool = False) -> AsyncIterator[Any]:
        """A transaction that also learns workspace and person ids for the caches, but only once
        committed: another transaction must never use an id whose row it cannot see yet.
        `one_statement`: see Database.transaction."""
        learned: list[tuple[dict, tuple, Any]] = []
        async with self.db.transaction(one_statement=one_statement) as conn:
            conn.info[_LEARNED] = learned
            yield conn
            conn.info.pop(_LEARNED, None)
        for cache, key, value in learned:
            cache[key] = value

    async def _workspace(self, conn, key: WorkspaceKey) -> Workspace:
        row = await store.upsert_workspace(
            conn, platform=key.platform, external_id=key.external_id, name=key.name, now=self.clock()
        )
        conn.info[_LEARNED].append((self._workspace_ids, (key.platform, key.external_id), row["id"]))
        return workspace_from_row(row)

    async def _workspace_id(self, conn, key: WorkspaceKey) -> int:
        cached = self._workspace_ids.get((key.platform, key.external_id))
        return cached if cached is not None else (await self._workspace(conn, key)).id

    async def _person(self, conn, workspace_id: int, key: PersonKey) -> Person:
        row = await store.upsert_person(
            conn,
            workspace_id=workspace_id,
            external_id=key.external_id,
            display_name=key.display_name,
            chat_id=key.chat_id,
            now=self.clock(),
        )
        person = person_from_row(row)
        learned = (person.id, person.display_name, person.chat_id)
        conn.info[_LEARNED].append((self._person_ids, (workspace_id, key.external_id), learned))
        return person

    async def _person_id(self, conn, workspace_id: int, key: PersonKey) -> int:
        cached = self._cached_person_id(workspace_id, key)
        return cached if cached is not None else (await self._person(conn, workspace_id, key)).id

    def _cached_person_id(self, workspace_id: int, key: PersonKey) -> int | None:
        """The person's id, unless unknown or their name or chat id changed (the upsert records it)."""
        cached = self._person_ids.get((workspace_id, key.external_id))
        if cached is not None and (not key.display_name or key.display_name == cached[1]) \
                and (not key.chat_id or key.chat_id == cached[2]):
            return cached[0]
        return None

    async def _ids(self, workspace: WorkspaceKey, person: PersonKey) -> tuple[int, int]:
        """The workspace's and the person's ids for a call that needs nothing else: from the caches,
        else learned by their upserts, committed before the caller uses them."""
        ws_id = self._workspace_ids.get((workspace.platform, workspace.external_id))
        person_id = self._cached_person_id(ws_id, person) if ws_id is not None else None
        if ws_id is None or person_id is None:
            async with self._transaction(one_statement=True) as conn:
                ws_id = await self._workspace_id(conn, workspace)
                person_id = await self._person_id(conn, ws_id, person)
        return ws_id, person_id
