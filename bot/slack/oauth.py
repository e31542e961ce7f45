"""Many Slack workspaces: bolt's own OAuth v2 flow at GET /slack/install and GET /slack/oauth_redirect.

Installations and OAuth states live in Handoff's database through slack-sdk's SQLAlchemy stores
(tables from our migration 0005_slack_oauth). The routes only translate aiohttp <-> bolt; the pages an admin
reads come from cards/install_page.py.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.exc import SQLAlchemyError
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.slack.installations import StoredInstallations
from cards.install_page import InstallPage, install_failed, install_succeeded
from core.handoffs import Handoffs
from core.models import WorkspaceKey
from manifest.slack import BOT_SCOPES, INSTALL_PATH, REDIRECT_PATH

log = logging.getLogger("handoff.slack.oauth")
# bolt's flow logs a refused code in full ("Failed to fetch oauth.v2.access result with code: ..."); our
# failure callback logs the reason instead, so the flow's own logger keeps to errors.
_flow_log = logging.getLogger("handoff.slack.oauth.flow")
_flow_log.setLevel(logging.ERROR)



def _page(page: InstallPage, status: int, settings: AsyncOAuthSettings) -> BoltResponse:
    headers = {"Content-Type": "text/html; charset=utf-8",
               "Set-Cookie": [settings.state_utils.build_set_cookie_for_deletion()]}  # the state is spent
    return BoltResponse(status=status, body=page.html(), headers=headers)


def callbacks(handoffs: Handoffs) -> AsyncCallbackOptions:
    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        await handoffs.register_workspace(WorkspaceKey("slack", installation.team_id, installation.team_name or ""))
        log.info("Slack workspace %s (%s) installed Handoff (installer %s)", installation.team_id,
                 installation.team_name, installation.user_id)
        return _page(install_succeeded(installation.team_name or ""), 200, args.settings)

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("Slack install refused: %s%s", args.reason, f" ({args.error})" if args.error else "")
        return _page(install_failed(args.reason), args.suggested_status_code, args.settings)

    return AsyncCallbackOptions(success=success, failure=failure)


class OneTimeStates(AsyncSQLAlchemyOAuthStateStore):
    """slack-sdk's state store, with `consume` as one conditional DELETE: two callbacks racing with the
    same state cannot both pass (the SDK selects, then deletes). Expired states are swept on the way."""

    async def async_consume(self, state: str) -> bool:
        now = normalize_datetime_for_db(datetime.now(tz=timezone.utc))
        c = self.oauth_states.c
        try:
            async with self.engine.begin() as conn:
                used = await conn.execute(self.oauth_states.delete().where(c.state == state, c.expire_at > now))
                await conn.execute(self.oauth_states.delete().where(c.expire_at <= now))
                return used.rowcount == 1
        except SQLAlchemyError as error:
            log.warning("Slack install: OAuth state not checked (%s)", error.__class__.__name__)
            return False


def build_oauth(settings: Settings, *, engine, handoffs: Handoffs, client: AsyncWebClient
                ) -> tuple[AsyncOAuthFlow, StoredInstallations]:
    """The OAuth flow and the installations it fills, on the app's database."""
    store = AsyncSQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine,
                                             logger=logging.getLogger("handoff.slack.installations"))
    state_store = OneTimeStates(expiration_seconds=settings.slack_oauth_state_ttl_s, engine=engine, logger=log)
    flow = AsyncOAuthFlow(client=client, logger=_flow_log, settings=AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,  # straight to Slack's authorize page
        authorization_url=settings.slack_authorize_url,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=state_store,
        state_expiration_seconds=settings.slack_oauth_state_ttl_s,
        callback_options=callbacks(handoffs),
        logger=_flow_log,
    ))
    rotator = AsyncTokenRotator(client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                                client=client)
    return flow, StoredInstallations(store=store, rotator=rotator)


def add_routes(app: web.Application, flow: AsyncOAuthFlow) -> list[str]:
    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    app.router.add_get(INSTALL_PATH, install)
    app.router.add_get(REDIRECT_PATH, redirect)
    return [INSTALL_PATH, REDIRECT_PATH]
