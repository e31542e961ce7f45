"""Which bot token serves which Slack workspace, looked up per workspace on every use (invariant 6).

Single-workspace mode (SLACK_BOT_TOKEN) learns its one team from auth.test. Many-workspace mode
(OAuth) keeps each workspace's bot in the database through slack-sdk's
AsyncSQLAlchemyInstallationStore and rotates expiring tokens on the way out. Both answer `find(team_id)`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
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

    async def forget(self, team_id: str) -> bool:
        """Drop the workspace's tokens (uninstalled / revoked); True when there was something to drop."""


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

    async def forget(self, team_id: str) -> bool:
        """The token comes from the environment: the admin removes it there. Stop using it meanwhile."""
        async with self._lock:
            known = self._installation is not None and self._installation.team_id == team_id
            if known:
                self._installation = None
            return known


# The tables our migration 0005_slack_oauth creates, in the shapes of slack-sdk's SQLAlchemy stores.
OAUTH_TABLES = ("slack_installations", "slack_bots", "slack_oauth_states")


class StoredInstallations:
    """Many workspaces, each installed through OAuth; a bot token close to expiry is rotated before use.

    Rotation is serialized per workspace within a process; two replicas rotating the same token at
    once both get valid tokens from Slack (the later save wins), so no request fails for it.
    """

    def __init__(self, *, store: AsyncSQLAlchemyInstallationStore, rotator: AsyncTokenRotator,
                 rotate_minutes_before: int = 120) -> None:
        self.store = store
        self.rotator = rotator
        self.rotate_minutes_before = rotate_minutes_before
        self._locks: dict[str, asyncio.Lock] = {}

    async def find(self, team_id: str) -> Installation | None:
        if not team_id:
            return None
        async with self._locks.setdefault(team_id, asyncio.Lock()):
            bot = await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
            if bot is None:
                return None
            bot = await self._rotated(bot)
        if bot is None:
            return None
        return Installation(team_id=team_id, team_name=bot.team_name or "", bot_token=bot.bot_token,
                            bot_user_id=bot.bot_user_id, bot_id=bot.bot_id)

    async def _rotated(self, bot: Bot) -> Bot | None:
        try:
            refreshed = await self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=self.rotate_minutes_before)
        except (SlackTokenRotationError, OSError, asyncio.TimeoutError) as error:
            reason = error.api_error.response.get("error") if isinstance(error, SlackTokenRotationError) else error
            still_valid = (bot.bot_token_expires_at or 0) > time.time()
            log.warning("Slack workspace %s: token rotation failed (%s); %s", bot.team_id, reason,
                        "the current token still works for now" if still_valid else "reinstall Handoff there")
            return bot if still_valid else None
        if refreshed is None:
            return bot
        await self.store.async_save_bot(refreshed)
        log.info("Slack workspace %s: bot token rotated", bot.team_id)
        return refreshed

    async def forget(self, team_id: str) -> bool:
        found = await self.store.async_find_bot(enterprise_id=None, team_id=team_id) is not None
        await self.store.async_delete_all(enterprise_id=None, team_id=team_id)
        return found
