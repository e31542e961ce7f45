"""A bot in many-workspace mode (SLACK_CLIENT_ID/SECRET) against Slack's OAuth stand-in, and an admin's
browser that follows the install: /slack/install -> Slack's authorize page -> /slack/oauth_redirect."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlparse

import aiohttp
from sqlalchemy import text

from bot.config import Settings
from bot.server import SERVICES, create_app
from standins.slack import requests as slack
from tests.fakes.slack_api import Actor, SlackSender, Team
from tests.fakes.slack_oauth import SlackOAuthStandIn
from tests.servers import serve
from tests.journeys.slack_bot import ANSWER_BOUND_S, acks_judged_by_the_bound

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret"
SIGNING_SECRET = "oauth-signing-secret"
ACME = Team(id="T-ACME", name="Acme MSP", bot_token="unused")
GLOBEX = Team(id="T-GLOBEX", name="Globex", bot_token="unused", domain="globex")


@dataclass
class Page:
    status: int
    text: str
    headers: Any


@dataclass
class OAuthBot:
    fake: SlackOAuthStandIn
    sender: SlackSender
    browser: aiohttp.ClientSession
    app: Any
    url: str
    fake_url: str

    @property
    def handoffs(self):
        return self.app[SERVICES].handoffs

    cookies: dict[str, str] = field(default_factory=dict)

    async def get(self, path: str, *, cookies: dict[str, str] | None = None, **params) -> Page:
        """A browser GET. The state cookie is `Secure`, so it is kept here by hand, the way a browser
        keeps it for the bot's real https address (aiohttp never sends Secure cookies over http)."""
        sent = self.cookies if cookies is None else cookies
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in sent.items())} if sent else {}
        async with self.browser.get(self.url + path, params=params, headers=headers, allow_redirects=False) as resp:
            for header in resp.headers.getall("Set-Cookie", []):
                for name, morsel in SimpleCookie(header).items():
                    if morsel["expires"] and "1970" in morsel["expires"] or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return Page(resp.status, await resp.text(), resp.headers)

    async def start_install(self) -> dict[str, list[str]]:
        """GET /slack/install: the query of Slack's authorize URL it redirects to."""
        page = await self.get("/slack/install")
        assert page.status == 302, page
        location = urlparse(page.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == "https://slack.com/oauth/v2/authorize"
        return parse_qs(location.query)

    async def install(self, team: Team, *, installer: str = "U-INSTALLER") -> Page:
        query = await self.start_install()
        return await self.install_with(query["state"][0], team, installer=installer)

    async def install_with(self, state: str, team: Team, *, installer: str = "U-INSTALLER") -> Page:
        """The admin allowed the install on Slack's page; Slack sends the browser back with a code."""
        return await self.get("/slack/oauth_redirect", code=self.fake.approve(team, installer=installer), state=state)

    async def send(self, body: slack.Body) -> slack.Answer:
        """Signed into the bot; a response_url in the body points at the stand-in's hooks."""
        if body.content_type == "application/x-www-form-urlencoded":
            fields = dict(parse_qsl(body.text, keep_blank_values=True))
            hook = f"{self.fake_url}/hooks/1"
            if "payload" in fields:
                payload = json.loads(fields["payload"])
                if "response_url" in payload:
                    fields["payload"] = json.dumps({**payload, "response_url": hook})
            elif "response_url" in fields:
                fields["response_url"] = hook
            body = slack.Body(urlencode(fields), body.content_type)
        answer = await self.sender.send(body)
        assert answer.elapsed_s < ANSWER_BOUND_S, f"answered in {answer.elapsed_s:.2f}s: it waited on something"
        return answer

    async def rows(self, sql: str, **params) -> list[tuple]:
        async with self.app[SERVICES].database.transaction() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]

    async def stored_bots(self, team_id: str | None = None) -> list[dict[str, Any]]:
        where = "WHERE team_id = :team" if team_id else ""
        async with self.app[SERVICES].database.transaction() as conn:
            rows = await conn.execute(text(f"SELECT * FROM slack_bots {where} ORDER BY id"), {"team": team_id})
            return [dict(r) for r in rows.mappings()]


def actor(team: Team, user_id: str, name: str) -> Actor:
    return Actor(user_id, name, team_id=team.id, channel_id=f"C-{team.id}-HELP")


@asynccontextmanager
async def oauth_bot(database_url: str, *, token_lifetime_s: int | None = None, run_worker: bool = True,
                    **settings) -> AsyncIterator[OAuthBot]:
    fake = SlackOAuthStandIn(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, token_lifetime_s=token_lifetime_s)
    async with serve(fake.app()) as fake_url:
        config = Settings(database_url=database_url, slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET,
                          slack_signing_secret=SIGNING_SECRET, slack_api_url=f"{fake_url}/api/", job_poll_s=0.05,
                          **settings)
        app = create_app(config, run_worker=run_worker)
        acks_judged_by_the_bound(app)
        async with serve(app) as url, aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as browser, \
                aiohttp.ClientSession() as slack_session:
            yield OAuthBot(fake, SlackSender(url, SIGNING_SECRET, slack_session), browser, app, url, fake_url)
