"""The Slack platform: a slack-bolt AsyncApp on the shared aiohttp server, and its delivery port.

HTTP mode mounts POST /slack/events (commands, interactivity and events, signed with
SLACK_SIGNING_SECRET); Socket Mode runs when SLACK_APP_TOKEN is set (no public URL needed).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.delivery import SlackDelivery
from bot.slack.handlers import SlackHandlers
from bot.slack.installations import Installations, SingleWorkspace
from cards import messages, slack_messages
from core.handoffs import Handoffs
from core.models import WorkspaceKey
from manifest.slack import EVENTS_PATH

log = logging.getLogger("handoff.slack")


@dataclass
class SlackPlatform:
    bolt: AsyncApp
    delivery: SlackDelivery
    installations: SingleWorkspace
    app_token: str | None = None  # Socket Mode when set
    socket_mode: AsyncSocketModeHandler | None = None
    routes: list[str] = field(default_factory=list)


SLACK = web.AppKey("slack", SlackPlatform)


class WorkspaceRegistry:
    """Makes each workspace known to the core once per process, with its escalation channel."""

    def __init__(self, handoffs: Handoffs, channel: str | None) -> None:
        self.handoffs = handoffs
        self.channel = channel
        self._known: set[str] = set()

    async def ensure(self, team_id: str, team_name: str) -> None:
        if team_id not in self._known:
            await self.handoffs.register_workspace(WorkspaceKey("slack", team_id, team_name), channel=self.channel)
            self._known.add(team_id)


def build_bolt_app(*, installations: Installations, registry: WorkspaceRegistry, signing_secret: str | None,
                   api_url: str, handlers: SlackHandlers) -> AsyncApp:
    async def authorize(enterprise_id, team_id, logger) -> AuthorizeResult | None:
        installation = await installations.find(team_id or "")
        if installation is None:
            return None
        await registry.ensure(installation.team_id, installation.team_name)
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=installation.team_id, team=installation.team_name,
                               bot_token=installation.bot_token, bot_user_id=installation.bot_user_id,
                               bot_id=installation.bot_id)

    bolt = AsyncApp(
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        client=AsyncWebClient(base_url=api_url, timeout=10),
        authorize=authorize,
        user_facing_authorize_error_message=slack_messages.plain_text(messages.not_installed()),
        process_before_response=False,  # ack answers the HTTP request; the listener goes on after it
        logger=logging.getLogger("handoff.slack.bolt"),
    )
    handlers.register(bolt)
    return bolt


def events_route(bolt: AsyncApp):
    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    return slack_events


def install(app: web.Application, services: Services) -> SlackDelivery | None:
    settings = services.settings
    if not settings.slack_enabled:
        return None
    installations = SingleWorkspace(bot_token=settings.slack_bot_token, api_url=settings.slack_api_url)
    delivery = SlackDelivery(installations=installations, api_url=settings.slack_api_url, clock=services.handoffs.clock)
    bolt = build_bolt_app(
        installations=installations,
        registry=WorkspaceRegistry(services.handoffs, settings.slack_channel),
        signing_secret=settings.slack_signing_secret,
        api_url=settings.slack_api_url,
        handlers=SlackHandlers(handoffs=services.handoffs, delivery=delivery, check_ticket=services.check_ticket),
    )
    platform = SlackPlatform(bolt=bolt, delivery=delivery, installations=installations,
                             app_token=settings.slack_app_token)
    if settings.slack_signing_secret:
        app.router.add_post(EVENTS_PATH, events_route(bolt))
        platform.routes.append(EVENTS_PATH)
    app[SLACK] = platform

    async def start(_app: web.Application) -> None:
        await installations.load()  # learn the team now, so the first click needs no auth.test
        if platform.app_token:  # built here: the handler needs the running loop
            platform.socket_mode = AsyncSocketModeHandler(bolt, platform.app_token)
            await platform.socket_mode.connect_async()

    async def stop(_app: web.Application) -> None:
        if platform.socket_mode is not None:
            with contextlib.suppress(Exception):
                await platform.socket_mode.close_async()
        await delivery.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return delivery
