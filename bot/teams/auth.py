"""Bot Framework authentication both ways, on the Microsoft 365 Agents SDK.

Inbound: every activity's bearer token goes through the SDK's own JwtTokenValidator (RS256 signature,
expiry, audience = our app id, issuer allow-list). Outbound: the connector's token comes from the SDK's
connection manager, with MSAL by default or a plain client-credentials call to HANDOFF_TEAMS_TOKEN_URL.

The bot's identity (MICROSOFT_APP_TYPE) is one of Azure's: SingleTenant (the default: a client secret in
the bot's own tenant), UserAssignedMSI (a user-assigned managed identity: no secret, MSAL asks the Azure
host's identity endpoint) or MultiTenant (bots registered before Azure stopped creating them, 2025-07-31).
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from jwt import PyJWTError
from microsoft_agents.hosting.core import AgentAuthConfiguration, AuthTypes, ClaimsIdentity, ConnectionManager
from microsoft_agents.hosting.core.authorization.jwt import JwtTokenValidator
from microsoft_agents.hosting.core.authorization.jwt.jwt_token_validator import _JwkClientManager

from bot.config import Settings, SettingsError
from bot.teams import local_dev

log = logging.getLogger("handoff.teams.auth")

# Bot Framework's multi-tenant authority, for bots registered without a tenant of their own.
MULTI_TENANT = "botframework.com"
TOKEN_EXPIRY_MARGIN_S = 300


def app_id(settings: Settings) -> str:
    """The bot's Microsoft App ID (for a managed identity: its client id); a fixed one in local dev."""
    return settings.microsoft_app_id or local_dev.LOCAL_APP_ID


def _tenant(settings: Settings) -> str:
    if settings.microsoft_app_type == "MultiTenant":
        return settings.microsoft_app_tenant_id or MULTI_TENANT
    if not settings.microsoft_app_tenant_id and not settings.teams_local_dev:
        raise SettingsError(
            f"MICROSOFT_APP_TENANT_ID is not set, and a {settings.microsoft_app_type} bot needs its tenant id "
            "(Azure portal > the Azure Bot > Configuration > App Tenant ID). A bot registered as multi-tenant "
            "before 2025-07-31: set MICROSOFT_APP_TYPE=MultiTenant"
        )
    return settings.microsoft_app_tenant_id or MULTI_TENANT


def auth_configuration(settings: Settings) -> AgentAuthConfiguration:
    """The SDK's own auth settings for this bot's identity."""
    managed = settings.microsoft_app_type == "UserAssignedMSI"
    if managed and settings.microsoft_app_password:
        raise SettingsError("MICROSOFT_APP_PASSWORD is set for a UserAssignedMSI bot, which has no secret: unset it")
    return AgentAuthConfiguration(
        auth_type=AuthTypes.user_managed_identity if managed else AuthTypes.client_secret,
        client_id=app_id(settings),
        client_secret=None if managed else settings.microsoft_app_password,
        tenant_id=_tenant(settings),
        connection_name="SERVICE_CONNECTION",
        validate_issuer=True,  # off by default in the SDK; we want the issuer allow-list checked
    )


class _PinnedKeys(_JwkClientManager):
    """Signing keys from one configured JWKS URL, whichever issuer the (unverified) token names."""

    def __init__(self, jwks_url: str) -> None:
        super().__init__()
        self.jwks_url = jwks_url

    async def get_signing_key(self, jwks_uri, header):
        return await super().get_signing_key(self.jwks_url, header)


class ChannelTokenValidator(JwtTokenValidator):
    """The SDK's validator, with the keys' location configurable.

    Why a subclass: JwtTokenValidator picks the JWKS URL from module constants (login.botframework.com
    for the Bot Framework issuer) and offers no argument for it, so sovereign clouds and offline tests
    could not point it anywhere else. We replace only the key source; signature, expiry, audience,
    issuer and tenant checks stay the SDK's own code.
    """

    def __init__(self, configuration: AgentAuthConfiguration, *, jwks_url: str | None = None) -> None:
        super().__init__(configuration)
        if jwks_url:
            self._jwk_client_manager = _PinnedKeys(jwks_url)


class InboundAuth:
    def __init__(self, configuration: AgentAuthConfiguration, *, jwks_url: str | None = None) -> None:
        self.validator = ChannelTokenValidator(configuration, jwks_url=jwks_url)

    async def identity(self, authorization: str | None) -> ClaimsIdentity | None:
        """The caller's verified claims, or None (-> 401). Never raises for a bad token."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            return None
        try:
            return await self.validator.validate_token(token)
        except (PyJWTError, ValueError) as error:
            log.warning("rejected a Bot Framework token: %s", type(error).__name__)
            return None


class ClientCredentialsTokens:
    """An AccessTokenProviderBase that asks one OAuth2 token endpoint for client-credentials tokens.

    Used when HANDOFF_TEAMS_TOKEN_URL is set: MSAL insists on discovering a Microsoft authority
    (instance discovery at login.microsoftonline.com, https only), which private clouds and offline
    tests do not have. Tokens are cached per scope until shortly before they expire.
    """

    def __init__(self, configuration: AgentAuthConfiguration, *, token_url: str) -> None:
        self._configuration = configuration
        self.token_url = token_url
        self._cache: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    async def get_access_token(self, resource_url: str, scopes: list[str], force_refresh: bool = False) -> str:
        scope = " ".join(scopes) if scopes else f"{resource_url.rstrip('/')}/.default"
        lock = self._locks.setdefault(scope, asyncio.Lock())
        async with lock:  # one token request per scope, however many turns want it at once
            cached = self._cache.get(scope)
            if cached and not force_refresh and cached[1] > time.time():
                return cached[0]
            form = {
                "grant_type": "client_credentials",
                "client_id": self._configuration.CLIENT_ID or "",
                "client_secret": self._configuration.CLIENT_SECRET or "",
                "scope": scope,
            }
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
                async with http.post(self.token_url, data=form) as response:
                    body = await response.json(content_type=None)
                    if response.status != 200 or "access_token" not in body:
                        raise ValueError(f"token endpoint answered {response.status}: {body.get('error', body)}")
            expires_at = time.time() + float(body.get("expires_in", 3600)) - TOKEN_EXPIRY_MARGIN_S
            self._cache[scope] = (body["access_token"], expires_at)
            return body["access_token"]

    def get_token_credential(self):
        raise NotImplementedError("Azure SDK credentials are not used by Handoff")

    async def acquire_token_on_behalf_of(self, scopes: list[str], user_assertion: str) -> str:
        raise NotImplementedError("Handoff does not act on behalf of users")


def connection_manager(settings: Settings, configuration: AgentAuthConfiguration) -> ConnectionManager:
    """The SDK's connection routing with our choice of token provider."""
    if settings.teams_local_dev:
        provider = local_dev.PlaceholderTokens
    elif settings.teams_token_url:
        token_url = settings.teams_token_url

        def provider(config: AgentAuthConfiguration) -> ClientCredentialsTokens:
            return ClientCredentialsTokens(config, token_url=token_url)
    else:
        from microsoft_agents.authentication.msal import MsalAuth as provider
    return ConnectionManager(provider, connections_configurations={"SERVICE_CONNECTION": configuration})
