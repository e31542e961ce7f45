"""HANDOFF_TEAMS_LOCAL_DEV=1: Teams without an Entra app, for the Microsoft 365 Agents Playground.

The playground (npm @microsoft/m365agentsplayground) runs on the developer's machine, posts activities
to /api/messages without a Bot Framework token and serves its own connector at a loopback URL
(`http://localhost:56150/_connector` by default). So, in this mode only:

- `handoff serve` must be bound to a loopback address (start-up is refused otherwise, see `check_bind`);
- a request WITHOUT an Authorization header is accepted when it arrived on a loopback socket from a
  loopback peer and its activity's `serviceUrl` is a loopback URL; anything else without a token is 401;
- a request WITH an Authorization header is checked exactly as in production (a bad token is 401);
- outbound calls carry a placeholder bearer token: the SDK refuses an empty one, and the playground's
  connector does not check it. A real Bot Connector would refuse it, which is the point.

The Agents SDK's own switch for this (`AgentAuthConfiguration.ANONYMOUS_ALLOWED`) accepts any request
without a token, from anywhere, and answers with an empty token; Handoff's mode is narrower on purpose.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from microsoft_agents.hosting.core import AgentAuthConfiguration, AuthenticationConstants, ClaimsIdentity

from bot.config import SettingsError

log = logging.getLogger("handoff.teams.local_dev")

LOCAL_APP_ID = "00000000-0000-0000-0000-000000000000"  # the bot's id when MICROSOFT_APP_ID is unset
PLACEHOLDER_TOKEN = "handoff-local-dev-placeholder-token"
AUTHENTICATION_TYPE = "HandoffLocalDev"
BANNER = (
    "HANDOFF_TEAMS_LOCAL_DEV=1: POST /api/messages accepts requests WITHOUT a Bot Framework token from "
    "this machine (loopback socket, loopback serviceUrl) for the Microsoft 365 Agents Playground; outbound "
    "calls carry a placeholder token. Never run this in production."
)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and is_loopback_host(parsed.hostname)


def check_bind(host: str) -> None:
    """Refuse to start local development mode on anything but a loopback address."""
    if not is_loopback_host(host):
        raise SettingsError(
            f"HANDOFF_TEAMS_LOCAL_DEV=1 accepts Teams requests without authentication, so `handoff serve` "
            f"only runs it on a loopback address, and {host!r} is not one: use --host 127.0.0.1 "
            f"(or unset HANDOFF_TEAMS_LOCAL_DEV and configure MICROSOFT_APP_ID)"
        )


def _socket_host(address: Any) -> str | None:
    return address[0] if isinstance(address, (tuple, list)) and address else None


async def unauthenticated_identity(request: web.Request, *, app_id: str) -> ClaimsIdentity | None:
    """The identity of a token-less request from the playground, or None (-> 401) if it is not one."""
    transport = request.transport
    local = _socket_host(transport.get_extra_info("sockname")) if transport else None
    if not (is_loopback_host(local) and is_loopback_host(request.remote)):
        log.warning("local dev: refused a request without a token that did not come from this machine (%s)",
                    request.remote)
        return None
    try:
        body = await request.json()
    except ValueError:
        return None
    service_url = body.get("serviceUrl") if isinstance(body, dict) else None
    if not is_loopback_url(service_url):
        log.warning("local dev: refused a request without a token whose serviceUrl is not a loopback URL")
        return None
    claims = {
        AuthenticationConstants.AUDIENCE_CLAIM: app_id,
        AuthenticationConstants.APP_ID_CLAIM: app_id,
        AuthenticationConstants.SERVICE_URL_CLAIM: service_url,
    }
    return ClaimsIdentity(claims, authentication_type=AUTHENTICATION_TYPE)


class PlaceholderTokens:
    """An AccessTokenProviderBase whose tokens are a fixed placeholder (the playground checks none)."""

    def __init__(self, configuration: AgentAuthConfiguration) -> None:
        self._configuration = configuration

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    async def get_access_token(self, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        return PLACEHOLDER_TOKEN

    def get_token_credential(self):
        raise NotImplementedError("local development mode has no credentials")

    async def acquire_token_on_behalf_of(self, scopes: list[str], user_assertion: str) -> str:
        raise NotImplementedError("Handoff does not act on behalf of users")
