"""Teams test harness: activity builders and the bot served next to a fake Bot Framework.

Every request into the bot carries an RS256 token signed by the fake's key; the bot's SDK validates it
against the fake's JWKS, takes its connector token from the fake's token endpoint and posts to the fake
connector. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config import Settings
from bot.server import SERVICES, create_app
from bot.services import Services, build_psa
from core.claude import ClaudeAssessor
from core.handoffs import Handoffs
from core.models import PersonKey, WorkspaceKey
from db.engine import Database
from psa.jobs import KIND as PSA_NOTE
from standins.http import serve
from standins.teams.activities import TeamsPlace, teams_user  # noqa: F401  (tests import teams_user from here)
from standins.teams.bot_framework import FakeBotFramework, served
from tests.fakes.anthropic import TLS_ASSESSMENT, FakeAnthropic, assessment, claude_against

APP_ID = "8f0b6c3e-1d2a-4b5c-9e7f-0a1b2c3d4e5f"
APP_PASSWORD = "test-app-password"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CHANNEL = "19:escalations0123456789abcdef@thread.tacv2"
ACME_TEAMS = WorkspaceKey("teams", TENANT)
DANA_TEAMS = PersonKey("29:dana", "Dana")


def place(service_url: str) -> TeamsPlace:
    """Acme's tenant as the bot sees it, its connector at `service_url` (the fake's)."""
    return TeamsPlace(tenant_id=TENANT, bot_id=APP_ID, service_url=service_url)


def key(user: dict) -> PersonKey:
    """How the bot keys a Teams user: their Entra object id, with their `29:` id for mentions."""
    return PersonKey(user["aadObjectId"], user["name"], chat_id=user["id"])


def personal(sender: dict) -> dict[str, Any]:
    return place("").personal_chat(sender)


def channel_thread(channel: str = CHANNEL, message_id: str = "1699999999999") -> dict[str, Any]:
    return place("").channel_thread(channel, message_id)


def channel_data(channel: str = CHANNEL) -> dict[str, Any]:
    return place("").channel_data(channel)


def message(text: str, *, sender: dict, service_url: str, in_channel: str | None = None, **fields) -> dict[str, Any]:
    """A chat message; `in_channel`: an @Handoff message in that channel. In `text`, '@{name}' of a
    person passed in `mentions` becomes a Teams mention of them."""
    return place(service_url).message(text, sender=sender, in_channel=in_channel, **fields)


def invoke(name: str, value: dict, *, sender: dict, service_url: str, conversation: dict | None = None,
           **fields) -> dict[str, Any]:
    return place(service_url).invoke(name, value, sender=sender, conversation=conversation, **fields)


def card_action(verb: str, handoff_id: str, *, sender: dict, service_url: str, conversation_id: str,
                message_id: str | None = None, **data: str) -> dict[str, Any]:
    """A click on a card's Action.Execute; `data`: what else the action carries (a snooze's `choice`);
    `message_id`: the message holding the card (Teams' replyToId)."""
    return place(service_url).card_action(verb, {"handoff_id": handoff_id, **data}, sender=sender,
                                          conversation_id=conversation_id, channel=CHANNEL, message_id=message_id)


@dataclass
class TeamsBot:
    url: str
    fake: FakeBotFramework
    services: Services
    http: aiohttp.ClientSession

    @property
    def handoffs(self) -> Handoffs:
        return self.services.handoffs

    async def send(self, activity: dict[str, Any], *, token: str | None = "valid") -> tuple[int, Any]:
        """POST an activity to /api/messages; token 'valid' mints a good one, None sends none."""
        headers = {}
        if token == "valid":
            token = self.fake.channel_token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.post(f"{self.url}/api/messages", json=activity, headers=headers) as response:
            body = await response.json(content_type=None) if response.content_length != 0 else None
            return response.status, body

    async def drain(self, timeout_s: float = 30.0) -> int:
        return await self.services.worker().drain(timeout_s=timeout_s)


@asynccontextmanager
async def claude_against_fake(data: dict[str, Any] | None = None) -> AsyncIterator[ClaudeAssessor]:
    async with claude_against(FakeAnthropic(default=assessment(data or TLS_ASSESSMENT))) as assessor:
        yield assessor


def teams_settings(database_url: str, fake: FakeBotFramework, **overrides: Any) -> Settings:
    values = dict(
        database_url=database_url,
        microsoft_app_id=APP_ID,
        microsoft_app_password=APP_PASSWORD,
        microsoft_app_tenant_id=TENANT,
        teams_jwks_url=fake.jwks_url,
        teams_token_url=fake.token_url,
        job_poll_s=0.05,
    )
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def teams_bot(database: Database, *, assessor: Any = None, handoffs: Handoffs | None = None,
                    **overrides: Any) -> AsyncIterator[TeamsBot]:
    """The real app (routes, SDK adapter, delivery port) against a fake Bot Framework, worker not running.
    `handoffs`: the service with its own clock or reminder schedule."""
    fake = FakeBotFramework(app_id=APP_ID, app_password=APP_PASSWORD)
    async with served(fake):
        settings = teams_settings(database.url, fake, **overrides)
        handoffs = handoffs or Handoffs(database, observers=(PSA_NOTE,))
        notes, tickets, psa_settings = build_psa(settings, handoffs)
        services = Services(settings=settings, database=database, handoffs=handoffs, assessor=assessor,
                            psa=notes, tickets=tickets, psa_settings=psa_settings)
        app = create_app(settings, run_worker=False, services=services)
        async with serve(app) as url, aiohttp.ClientSession() as http:
            yield TeamsBot(url=url, fake=fake, services=app[SERVICES], http=http)


async def say(bot: TeamsBot, text: str, *, sender: dict, channel: str | None = CHANNEL, mentions=()) -> str:
    """Send a message (in `channel`, @Handoff; None: in a personal chat) -> the text the bot answered."""
    for person in mentions:  # Teams knows them: the bot looks each mention up (a mention has no object id)
        bot.fake.add_member(person)
    before = len(bot.fake.calls)
    status, _ = await bot.send(message(text, sender=sender, service_url=bot.fake.service_url, in_channel=channel,
                                       mentions=list(mentions)))
    assert status in (200, 202)
    [answer] = [c for c in bot.fake.calls[before:] if c.kind in ("reply", "send")]
    assert not bot.fake.refused, bot.fake.refused
    return answer.body.get("text") or ""


async def use_this_channel(bot: TeamsBot, person: dict, channel: str = CHANNEL) -> str:
    return await say(bot, "use this channel", sender=person, channel=channel)


async def open_dialog(bot: TeamsBot, person: dict) -> str:
    """task/fetch -> the dialog's token (carried in its submit action)."""
    status, body = await bot.send(invoke("task/fetch", {"data": {"verb": "escalate"}}, sender=person,
                                         service_url=bot.fake.service_url))
    assert status == 200, body
    return body["task"]["value"]["card"]["content"]["actions"][0]["data"]["dialog"]


def submit(person: dict, service_url: str, dialog: str, **fields: str) -> dict[str, Any]:
    fields.setdefault("summary", "Exchange mailbox for finance can't receive external mail")
    return invoke("task/submit", {"data": {"dialog": dialog, **fields}}, sender=person, service_url=service_url)


def posted_card(bot: TeamsBot, channel: str = CHANNEL) -> tuple[str, str, dict[str, Any]]:
    """(conversation id, activity id, current card) of the one escalation card the bot created."""
    [(conversation, activity_id)] = [c for c in bot.fake.created if c[0].startswith(channel)]
    return conversation, activity_id, bot.fake.card_of(activity_id)
