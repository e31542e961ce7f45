"""Microsoft Teams: POST /api/messages on the shared aiohttp app, on the Microsoft 365 Agents SDK.
`install(app, services)` is called by bot.server.create_app."""

from __future__ import annotations

import logging
import warnings
from functools import partial

from aiohttp import web
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext

from bot.services import Services
from bot.teams import local_dev
from bot.teams.agent import HandoffAgent
from bot.teams.auth import InboundAuth, app_id, auth_configuration, connection_manager
from bot.teams.delivery import TeamsDelivery
from cards import teams_messages

log = logging.getLogger("handoff.teams")

UNAUTHORIZED = {"error": "unauthorized: a valid Bot Framework token is required"}


async def _raise(context: TurnContext, error: Exception) -> None:
    # The SDK's default posts the exception text into the conversation; we want jobs to see the
    # error (RetryLater, PermanentFailure) and inbound turns to fail loudly in our logs instead.
    raise error


def install(app: web.Application, services: Services) -> TeamsDelivery | None:
    settings = services.settings
    if not settings.teams_enabled:
        log.info("Teams is off: MICROSOFT_APP_ID is not set, so POST /api/messages is not served")
        return None
    if settings.teams_local_dev:
        log.warning(local_dev.BANNER)
    configuration = auth_configuration(settings)
    adapter = CloudAdapter(connection_manager=connection_manager(settings, configuration))
    adapter.on_turn_error = _raise
    inbound = InboundAuth(configuration, jwks_url=settings.teams_jwks_url)
    agent = HandoffAgent(services.handoffs, settings, psa=services.psa_settings, clock=services.handoffs.clock,
                         check_ticket=partial(services.check_ticket, render=teams_messages.plain_text))

    async def messages(request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization")
        if authorization is None and settings.teams_local_dev:
            identity = await local_dev.unauthenticated_identity(request, app_id=configuration.CLIENT_ID)
        else:
            identity = await inbound.identity(authorization)
        if identity is None:
            return web.json_response(UNAUTHORIZED, status=401)
        with warnings.catch_warnings():  # the SDK's request adapter reads this plain string key
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            request["claims_identity"] = identity
        return await adapter.process(request, agent)

    app.router.add_post("/api/messages", messages)
    return TeamsDelivery(adapter, app_id=app_id(settings), telemetry=services.handoffs.telemetry,
                         clock=services.handoffs.clock)

