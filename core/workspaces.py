"""What happens to a workspace as a whole: removal when the app is uninstalled or its tokens revoked."""

from __future__ import annotations

from dataclasses import dataclass

from core.models import WorkspaceKey
from core.scope import Scoped
from db import outbox, store


@dataclass(frozen=True)
class Removed:
    known: bool  # the workspace had been seen before
    stopped_jobs: int


class WorkspaceRemoval(Scoped):
    async def workspace_removed(self, *, workspace: WorkspaceKey, reason: str) -> Removed:
        """Stop the workspace's pending deliveries with `reason` and record it, in one transaction.
        Its handoffs, people and history stay (a reinstall picks them up again)."""
        async with self._transaction() as conn:
            row = await store.get_workspace(conn, platform=workspace.platform, external_id=workspace.external_id)
            if row is None:
                return Removed(known=False, stopped_jobs=0)
            now = self.clock()
            stopped = await outbox.stop_pending_for_workspace(conn, workspace_id=row["id"], reason=reason, now=now)
            await store.fail_undelivered_cards(conn, workspace_id=row["id"], reason=reason, now=now)
            await store.insert_event(conn, workspace_id=row["id"], kind="workspace_removed",
                                     data={"reason": reason, "stopped_jobs": stopped}, now=now)
            return Removed(known=True, stopped_jobs=stopped)
