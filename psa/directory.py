"""Which PSA connection a workspace uses: its own stored one, else the environment's (single-workspace mode)."""

from __future__ import annotations

from datetime import datetime

from core.models import Person
from db import psa as psa_store
from db import store
from db.engine import Database
from db.tables import utcnow
from core.psa_form import ASSIGN, FIELDS, PsaStatus, hidden_fields
from psa.connection import ConfigError, PsaConnection, Vault


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
        async with self.db.transaction() as conn:
            row = await psa_store.get_connection(conn, workspace_id=workspace_id)
        if row is None:
            return self.default
        if self.vault is None:
            raise ConfigError("this workspace has a stored PSA connection but HANDOFF_SECRET_KEY is not set")
        return self.vault.open(dict(row))

    async def status(self, workspace_id: int) -> PsaStatus:
        """Which connection applies, for the settings: the stored one (read without its secrets), else the
        environment's, else none."""
        async with self.db.transaction() as conn:
            row = await psa_store.get_connection(conn, workspace_id=workspace_id)
        if row is None:
            if self.default is None:
                return PsaStatus(None, assign=self.assign)
            return PsaStatus(self.default.kind, self.default.settings.get("url", ""), "environment",
                             assign=self.assigns(self.default))
        kind, settings = row["kind"], dict(row["settings"] or {})
        switch = settings.pop(ASSIGN, None)
        hidden = hidden_fields(kind)
        return PsaStatus(kind, settings.get("url", ""), "stored" if self._readable(row) else "unreadable",
                         values={k: v for k, v in settings.items() if k not in hidden},
                         saved_hidden=frozenset(n for n in hidden if n in settings or n in FIELDS[kind][1]),
                         assign=self.assign if not isinstance(switch, bool) else switch)

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
            await psa_store.save_connection(conn, workspace_id=workspace_id, sealed=self.vault.seal(connection),
                                            person_id=by.id if by else None, now=now)
            await store.insert_event(conn, workspace_id=workspace_id, kind="psa_connection_set",
                                     actor_id=by.id if by else None, data={"psa": connection.describe()}, now=now)
