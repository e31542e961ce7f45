"""Which PSA connection a workspace uses: its own stored one, else the environment's (single-workspace mode).

Whether picking up assigns the ticket is the workspace's setting (`workspaces.settings["psa_assign"]`), whichever
connection applies, so a workspace on the environment's connection switches it without credentials; not set, a
stored connection's own switch (saved with it before the switch became a workspace setting), else
HANDOFF_PSA_ASSIGN.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from core.models import Person
from db import psa as psa_store
from db import store
from db.engine import Database
from db.tables import utcnow
from core.psa_form import ASSIGN, FIELDS, PsaStatus, hidden_fields
from psa.connection import ConfigError, PsaConnection, Vault

ASSIGN_SETTING = "psa_assign"  # the workspace setting: True / False; absent: see the module's docstring


class Directory:
    def __init__(self, database: Database, *, vault: Vault | None, default: PsaConnection | None,
                 assign: bool = False) -> None:
        self.db = database
        self.vault = vault
        self.default = default
        self.assign = assign  # HANDOFF_PSA_ASSIGN: whether pick-up assigns the ticket where a workspace did not say

    def assigns(self, connection: PsaConnection) -> bool:
        """Does picking up make the senior the ticket's owner? The workspace's switch, else the server's."""
        return self.assign if connection.assign is None else connection.assign

    async def for_workspace(self, workspace_id: int) -> PsaConnection | None:
        """The connection that applies, its `assign` the workspace's switch where it set one."""
        async with self.db.transaction() as conn:
            row = await psa_store.get_connection(conn, workspace_id=workspace_id)
            switch = await self._switch(conn, workspace_id)
        if row is None:
            connection = self.default
        elif self.vault is None:
            raise ConfigError("this workspace has a stored PSA connection but HANDOFF_SECRET_KEY is not set")
        else:
            connection = self.vault.open(dict(row))
        if connection is None or switch is None:
            return connection
        return replace(connection, assign=switch)

    @staticmethod
    async def _switch(conn, workspace_id: int) -> bool | None:
        workspace = await store.get_workspace_by_id(conn, workspace_id)
        switch = ((workspace["settings"] if workspace else None) or {}).get(ASSIGN_SETTING)
        return switch if isinstance(switch, bool) else None

    async def set_assign(self, *, workspace_id: int, assign: bool, by: Person | None = None,
                         now: datetime | None = None) -> None:
        """The workspace's switch, whichever connection applies; the trail says who turned it which way."""
        async with self.db.transaction() as conn:
            await self._set_switch(conn, workspace_id, assign, by, now or utcnow())

    async def _set_switch(self, conn, workspace_id: int, assign: bool, by: Person | None, now: datetime) -> None:
        before = await store.set_workspace_setting(conn, workspace_id=workspace_id, name=ASSIGN_SETTING, value=assign)
        if before is assign:
            return
        await store.insert_event(conn, workspace_id=workspace_id, kind="psa_assign_set",
                                 actor_id=by.id if by else None, data={"assign": assign}, now=now)

    async def status(self, workspace_id: int) -> PsaStatus:
        """Which connection applies, for the settings: the stored one (read without its secrets), else the
        environment's, else none."""
        async with self.db.transaction() as conn:
            row = await psa_store.get_connection(conn, workspace_id=workspace_id)
            switch = await self._switch(conn, workspace_id)
        if row is None:
            if self.default is None:
                return PsaStatus(None, **self._assign(switch))
            return PsaStatus(self.default.kind, self.default.settings.get("url", ""), "environment",
                             **self._assign(switch))
        kind, settings = row["kind"], dict(row["settings"] or {})
        legacy = settings.pop(ASSIGN, None)
        hidden = hidden_fields(kind)
        return PsaStatus(kind, settings.get("url", ""), "stored" if self._readable(row) else "unreadable",
                         values={k: v for k, v in settings.items() if k not in hidden},
                         saved_hidden=frozenset(n for n in hidden if n in settings or n in FIELDS[kind][1]),
                         **self._assign(switch if switch is not None else legacy if isinstance(legacy, bool) else None))

    def _assign(self, switch: bool | None) -> dict[str, Any]:
        """PsaStatus's assign and assign_chosen: the workspace's choice, else the server's default."""
        return {"assign": self.assign if switch is None else switch, "assign_chosen": switch is not None}

    def _readable(self, row) -> bool:
        if self.vault is None:
            return False
        try:
            self.vault.open(dict(row))
        except ConfigError:  # sealed under another HANDOFF_SECRET_KEY
            return False
        return True

    async def stored(self, workspace_id: int) -> PsaConnection | None:
        """This workspace's own connection (not the environment's), secrets opened; None when it has none."""
        async with self.db.transaction() as conn:
            row = await psa_store.get_connection(conn, workspace_id=workspace_id)
        if row is None:
            return None
        if self.vault is None:
            raise ConfigError("this workspace has a stored PSA connection but HANDOFF_SECRET_KEY is not set")
        return self.vault.open(dict(row))

    async def remove(self, *, workspace_id: int, by: Person | None = None, now: datetime | None = None) -> bool:
        """Forget a workspace's stored connection (the environment's applies again, if any)."""
        now = now or utcnow()
        async with self.db.transaction() as conn:
            removed = await psa_store.delete_connection(conn, workspace_id=workspace_id)
            if removed:
                await store.insert_event(conn, workspace_id=workspace_id, kind="psa_connection_removed",
                                         actor_id=by.id if by else None, data={}, now=now)
        return removed

    async def save(
        self, *, workspace_id: int, connection: PsaConnection, by: Person | None = None, now: datetime | None = None
    ) -> None:
        """Store a workspace's connection, secrets sealed; the trail says what changed, never a secret."""
        if self.vault is None:
            raise ConfigError("HANDOFF_SECRET_KEY is not set: PSA credentials cannot be stored")
        now = now or utcnow()
        async with self.db.transaction() as conn:
            switch = connection.assign if connection.assign is not None else await self._legacy(conn, workspace_id)
            # The switch is the workspace's setting (it outlives this connection): not sealed with it.
            await psa_store.save_connection(conn, workspace_id=workspace_id,
                                            sealed=self.vault.seal(replace(connection, assign=None)),
                                            person_id=by.id if by else None, now=now)
            await store.insert_event(conn, workspace_id=workspace_id, kind="psa_connection_set",
                                     actor_id=by.id if by else None, data={"psa": connection.describe()}, now=now)
            if switch is not None:
                await self._set_switch(conn, workspace_id, switch, by, now)

    async def _legacy(self, conn, workspace_id: int) -> bool | None:
        """A switch saved with the stored connection (before it was a workspace setting), if the workspace has
        none of its own: kept by moving it to the workspace when the connection is saved again."""
        row = await psa_store.get_connection(conn, workspace_id=workspace_id)
        legacy = dict((row["settings"] if row else None) or {}).get(ASSIGN)
        return legacy if isinstance(legacy, bool) and await self._switch(conn, workspace_id) is None else None
