"""Which bot token serves which Slack workspace, looked up per workspace on every use (invariant 6).

Single-workspace mode (SLACK_BOT_TOKEN) learns its one team from auth.test; a multi-workspace
OAuth store can replace `SingleWorkspace` behind the same `find(team_id)`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("handoff.slack")


@dataclass(frozen=True)
class Installation:
    team_id: str
    team_name: str
    bot_token: str
    bot_user_id: str | None = None
    bot_id: str | None = None


class Installations(Protocol):
    async def find(self, team_id: str) -> Installation | None: ...


class SingleWorkspace:
    """One token for one workspace. Requests from any other team find nothing."""

    def __init__(self, *, bot_token: str, api_url: str) -> None:
        self.bot_token = bot_token
        self.api_url = api_url
        self._installation: Installation | None = None
        self._lock = asyncio.Lock()

    async def find(self, team_id: str) -> Installation | None:
        installation = self._installation or await self.load()
        if installation is None or installation.team_id != team_id:
            return None
        return installation

    async def load(self) -> Installation | None:
        """auth.test once (at start-up, or on first use if Slack was unreachable then)."""
        async with self._lock:
            if self._installation is None:
                client = AsyncWebClient(token=self.bot_token, base_url=self.api_url, timeout=10)
                try:
                    auth = await client.auth_test()
                except (SlackApiError, OSError, asyncio.TimeoutError) as error:
                    log.warning("Slack auth.test failed for SLACK_BOT_TOKEN: %s", error)
                    return None
                self._installation = Installation(
                    team_id=auth["team_id"],
                    team_name=auth.get("team") or "",
                    bot_token=self.bot_token,
                    bot_user_id=auth.get("user_id"),
                    bot_id=auth.get("bot_id"),
                )
            return self._installation
