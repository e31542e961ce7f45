"""Which PSA connection a workspace uses: its own stored one, else the environment's (single-workspace mode)."""

from __future__ import annotations

from datetime import datetime

from core.models import Person
from db import psa as psa_store
from db import store
from db.engine import Database
from db.tables import utcnow
from psa.connection import ConfigError, PsaConnection, Vault


class Directory:
    def __init__(self, database: Database, *, vault: Vault | None, default: PsaConnection | None) -> None:
        self.db = database
        self.vault = vault
        self.default = default

    async def for_workspace(self, workspace_id: int) -> PsaConnection | None:
        async with self.db.transaction() as conn:
            row = await psa_store.get_connection(conn, workspace_id=workspace_id)
        if row is None:
            return self.default
        if self.vault is None:
            raise ConfigError("this workspace has a stored PSA connection but HANDOFF_SECRET_KEY is not set")
        return self.vault.open(dict(row))

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
