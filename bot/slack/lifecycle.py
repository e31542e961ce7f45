"""A workspace leaving: `app_uninstalled` and `tokens_revoked` drop its tokens and stop its pending
deliveries with the reason recorded (core.workspaces). Both arrive without a usable token, so bolt
lets them through without one."""

from __future__ import annotations

import logging

from bot.inflight import TrackedListeners

from bot.slack.installations import Installations
from core.handoffs import Handoffs
from core.models import WorkspaceKey

log = logging.getLogger("handoff.slack")


class WorkspaceLifecycle:
    def __init__(self, *, installations: Installations, handoffs: Handoffs) -> None:
        self.installations = installations
        self.handoffs = handoffs

    def register(self, app: TrackedListeners) -> None:
        app.event("app_uninstalled")(self.on_app_uninstalled)
        app.event("tokens_revoked")(self.on_tokens_revoked)

    async def on_app_uninstalled(self, body) -> None:
        await self.remove(body.get("team_id") or "", reason="app_uninstalled")

    async def on_tokens_revoked(self, body, event) -> None:
        if (event.get("tokens") or {}).get("bot"):  # only user tokens revoked: the bot still works
            await self.remove(body.get("team_id") or "", reason="tokens_revoked")

    async def remove(self, team_id: str, *, reason: str) -> None:
        forgot = await self.installations.forget(team_id)
        removed = await self.handoffs.workspace_removed(workspace=WorkspaceKey("slack", team_id), reason=reason)
        log.warning("Slack workspace %s: %s; tokens %s, %d pending deliveries stopped", team_id, reason,
                    "deleted" if forgot else "were already gone", removed.stopped_jobs)
