"""Slack's side of an OAuth v2 install, served over real HTTP: the Web API stand-in plus
`oauth.v2.access` as Slack documents it (https://api.slack.com/methods/oauth.v2.access,
https://api.slack.com/authentication/oauth-v2, token rotation: https://api.slack.com/authentication/rotation).

- The app authenticates with HTTP Basic client_id:client_secret (or client_id/client_secret fields).
- `grant_type` absent: exchange a `code`. Codes work once (`code_already_used` after) and expire after
  ten minutes (`invalid_code`); a wrong client or secret is `invalid_client_id` / `bad_client_secret`.
- `grant_type=refresh_token`: with rotation on, a new bot token (`xoxb-`, `expires_in`) and a new
  refresh token (`xoxe-1-`); an unknown refresh token is `invalid_refresh_token`.
- `revoke(team_id)` is the workspace removing the app: its tokens are then unknown
  (`invalid_auth`).
"""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.slack_api import Call, SlackWebApiStandIn, Team

CODE_TTL_S = 600
APP_ID = "A-HANDOFF"


@dataclass
class Grant:
    team: Team
    installer: str
    issued_at: float
    used: bool = False


class SlackOAuthStandIn(SlackWebApiStandIn):
    def __init__(self, *teams: Team, client_id: str, client_secret: str, token_lifetime_s: int | None = None) -> None:
        super().__init__(*teams)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime_s = token_lifetime_s  # None: token rotation off for this app
        self.revoked: set[str] = set()
        self._grants: dict[str, Grant] = {}
        self._refresh: dict[str, Team] = {}
        self._serial = itertools.count(1)
        self.responses: list[dict[str, Any]] = []  # what the bot sent to response_url hooks

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/oauth.v2.access", self._oauth_v2_access)
        app.router.add_post("/hooks/{path:.*}", self._response_url)
        app.router.add_route("*", "/api/{method}", self._handle)
        return app

    # --- what happens on slack.com ----------------------------------------------------------------

    def approve(self, team: Team, *, installer: str = "U-INSTALLER", age_s: float = 0.0) -> str:
        """The admin clicked Allow on Slack's authorize page: Slack redirects back with this code."""
        code = f"code-{team.id}-{next(self._serial)}"
        self._grants[code] = Grant(team, installer, time.time() - age_s)
        return code

    def revoke(self, team_id: str) -> None:
        """The workspace uninstalled the app or revoked its tokens."""
        self.revoked.add(team_id)
        for token, team in list(self.teams.items()):
            if team.id == team_id:
                del self.teams[token]

    def tokens_of(self, team_id: str) -> list[str]:
        return [token for token, team in self.teams.items() if team.id == team_id]

    async def _response_url(self, request: web.Request) -> web.Response:
        """A slash command's response_url (https://api.slack.com/interactivity/handling#message_responses)."""
        self.responses.append(await request.json())
        return web.Response(text="ok")

    # --- oauth.v2.access ----------------------------------------------------------------------------

    async def _oauth_v2_access(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        client_id, secret = _basic_auth(request.headers.get("Authorization", ""))
        client_id, secret = client_id or args.get("client_id"), secret or args.get("client_secret")
        call = Call("oauth.v2.access", {k: v for k, v in args.items() if k != "client_secret"}, None, time.monotonic())
        self.calls.append(call)
        if client_id != self.client_id:
            answer: dict[str, Any] = {"ok": False, "error": "invalid_client_id"}
        elif secret != self.client_secret:
            answer = {"ok": False, "error": "bad_client_secret"}
        elif args.get("grant_type") == "refresh_token":
            answer = self._refresh_grant(str(args.get("refresh_token") or ""))
        else:
            answer = self._code_grant(str(args.get("code") or ""))
        call.ok = answer["ok"]
        return web.json_response(answer)

    def _code_grant(self, code: str) -> dict[str, Any]:
        grant = self._grants.get(code)
        if grant is None or time.time() - grant.issued_at > CODE_TTL_S:
            return {"ok": False, "error": "invalid_code"}
        if grant.used:
            return {"ok": False, "error": "code_already_used"}
        grant.used = True
        self.revoked.discard(grant.team.id)
        return {"ok": True, **self._issue(grant.team), "authed_user": {"id": grant.installer}}

    def _refresh_grant(self, refresh_token: str) -> dict[str, Any]:
        team = self._refresh.pop(refresh_token, None)
        if team is None or team.id in self.revoked:
            return {"ok": False, "error": "invalid_refresh_token"}
        return {"ok": True, **self._issue(team)}

    def _issue(self, team: Team) -> dict[str, Any]:
        token = f"xoxb-{team.id}-{next(self._serial)}"
        self.teams[token] = Team(id=team.id, name=team.name, bot_token=token, bot_user_id=team.bot_user_id,
                                 bot_id=team.bot_id, domain=team.domain)
        answer: dict[str, Any] = {
            "access_token": token, "token_type": "bot", "scope": "commands,chat:write",
            "bot_user_id": team.bot_user_id, "app_id": APP_ID, "team": {"id": team.id, "name": team.name},
            "enterprise": None, "is_enterprise_install": False,
        }
        if self.token_lifetime_s is not None:
            refresh = f"xoxe-1-{team.id}-{next(self._serial)}"
            self._refresh[refresh] = team
            answer.update(expires_in=self.token_lifetime_s, refresh_token=refresh)
        return answer


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    if not header.startswith("Basic "):
        return None, None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None, None
    return client_id, secret
