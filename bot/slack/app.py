"""The Slack platform: a slack-bolt AsyncApp on the shared aiohttp server, and its delivery port.

HTTP mode mounts POST /slack/events (commands, interactivity and events, signed with
SLACK_SIGNING_SECRET); Socket Mode runs when SLACK_APP_TOKEN is set (no public URL needed).
One workspace (SLACK_BOT_TOKEN) or many (SLACK_CLIENT_ID + SLACK_CLIENT_SECRET: OAuth install at
/slack/install, tokens in the database); either way every request and delivery finds its
workspace's token through the same `Installations.find(team_id)`.
"""

from __future__ import annotations

import contextlib
import logging
from functools import partial
from dataclasses import dataclass, field

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.web.async_client import AsyncWebClient

from bot.inflight import InFlight, TrackedListeners
from bot.services import Services
from bot.slack.admin import SlackAdmin
from bot.slack.delivery import SlackDelivery
from bot.slack.handlers import SlackHandlers
from bot.slack import oauth
from bot.slack.installations import Installations, SingleWorkspace
from bot.slack.psa_admin import SlackPsaAdmin
from bot.slack.lifecycle import WorkspaceLifecycle
from cards import messages, slack_messages
from core.handoffs import Handoffs
from core.models import WorkspaceKey
from manifest.slack import EVENTS_PATH

log = logging.getLogger("handoff.slack")


@dataclass
class SlackPlatform:
    bolt: AsyncApp
    delivery: SlackDelivery
    installations: Installations
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
        """The configured channel applies until one is chosen in Slack (core.Handoffs.register_workspace)."""
        if team_id not in self._known:
            await self.handoffs.register_workspace(WorkspaceKey("slack", team_id, team_name), channel=self.channel)
            self._known.add(team_id)


class WorkspaceAuthorize(AsyncAuthorize):
    """Every request gets its own workspace's token, looked up when it arrives (invariant 6)."""

    def __init__(self, installations: Installations, registry: WorkspaceRegistry) -> None:
        self.installations = installations
        self.registry = registry

    async def __call__(self, *, context, enterprise_id, team_id, user_id, **_actor) -> AuthorizeResult | None:
        installation = await self.installations.find(team_id or "")
        if installation is None:
            log.warning("Slack workspace %s: no installation (never installed, uninstalled or token revoked); "
                        "request from %s not handled, nothing stored", team_id, user_id)
            return None
        await self.registry.ensure(installation.team_id, installation.team_name)
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=installation.team_id, team=installation.team_name,
                               bot_token=installation.bot_token, bot_user_id=installation.bot_user_id,
                               bot_id=installation.bot_id, user_id=user_id)


def build_bolt_app(*, authorize: WorkspaceAuthorize, signing_secret: str | None, client: AsyncWebClient,
                   listeners: list, inflight: InFlight, oauth_flow=None) -> AsyncApp:
    """Every listener is registered through `TrackedListeners`, so a graceful stop can wait for the work
    each one does after its ack (bot/inflight.py)."""
    bolt = AsyncApp(
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        client=client,
        authorize=authorize,
        oauth_flow=oauth_flow,
        user_facing_authorize_error_message=slack_messages.plain_text(messages.not_installed()),
        process_before_response=False,  # ack answers the HTTP request; the listener goes on after it
        logger=logging.getLogger("handoff.slack.bolt"),
    )
    tracked = TrackedListeners(bolt, inflight)
    for listener in listeners:
        listener.register(tracked)
    for listener in listeners:  # after every real listener: bolt runs the first that matches
        if hasattr(listener, "register_fallbacks"):
            listener.register_fallbacks(tracked)
    return bolt


def events_route(bolt: AsyncApp):
    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    return slack_events


def install(app: web.Application, services: Services) -> SlackDelivery | None:
    settings = services.settings
    if not settings.slack_enabled:
        return None
    client = AsyncWebClient(base_url=settings.slack_api_url, timeout=10)
    flow = None
    if settings.slack_oauth_enabled:
        if settings.slack_bot_token:
            log.warning("SLACK_CLIENT_ID is set, so Slack runs for many workspaces: SLACK_BOT_TOKEN is ignored")
        flow, installations = oauth.build_oauth(settings, engine=services.database.engine,
                                                handoffs=services.handoffs, client=client)
        channel = None  # HANDOFF_SLACK_CHANNEL is for one workspace; each workspace sets its own
    else:
        installations = SingleWorkspace(bot_token=settings.slack_bot_token, api_url=settings.slack_api_url)
        channel = settings.slack_channel
    delivery = SlackDelivery(installations=installations, api_url=settings.slack_api_url, clock=services.handoffs.clock,
                             telemetry=services.handoffs.telemetry, name_ttl_s=settings.slack_name_ttl_s,
                             name_clock=services.monotonic)
    handlers = SlackHandlers(handoffs=services.handoffs, delivery=delivery,
                             check_ticket=partial(services.check_ticket, render=slack_messages.plain_text))
    admin = SlackAdmin(handoffs=services.handoffs, tell=handlers.tell, names=delivery.person_view,
                       psa=services.psa_settings)
    psa = [SlackPsaAdmin(psa=services.psa_settings, refresh_home=admin.publish_home)] if services.psa_settings else []
    bolt = build_bolt_app(
        authorize=WorkspaceAuthorize(installations, WorkspaceRegistry(services.handoffs, channel)),
        signing_secret=settings.slack_signing_secret,
        client=client,
        oauth_flow=flow,
        inflight=services.inflight,
        listeners=[admin, *psa, handlers, WorkspaceLifecycle(installations=installations, handoffs=services.handoffs)],
    )
    platform = SlackPlatform(bolt=bolt, delivery=delivery, installations=installations,
                             app_token=settings.slack_app_token)
    if settings.slack_signing_secret:
        app.router.add_post(EVENTS_PATH, events_route(bolt))
        platform.routes.append(EVENTS_PATH)
    if flow is not None:
        platform.routes.extend(oauth.add_routes(app, flow))
    app[SLACK] = platform

    async def start(_app: web.Application) -> None:
        if isinstance(installations, SingleWorkspace):
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
