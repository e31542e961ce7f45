"""HANDOFF_TEAMS_LOCAL_DEV=1: the Agents Playground drives the bot without an Entra app, on this machine only.

The playground posts activities without an Authorization header and serves its connector under
`http://localhost:56150/_connector`; these tests do the same with the Bot Framework stand-in.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest

from bot.config import Settings
from bot.server import SERVICES, create_app
from bot.services import Services
from bot.teams.local_dev import LOCAL_APP_ID, PLACEHOLDER_TOKEN
from core.models import WorkspaceKey
from standins.http import serve
from standins.teams.activities import TeamsPlace, TeamsSender, teams_user
from standins.teams.bot_framework import FakeBotFramework, TokenSigner, served

PLAYGROUND_TENANT = "00000000-0000-0000-0000-0000000000001"  # what the playground puts in channelData
PLAYGROUND = WorkspaceKey("teams", PLAYGROUND_TENANT)
CHANNEL = "19:escalations@thread.tacv2"
ALEX, MEGAN, ADELE = teams_user("Alex Wilber"), teams_user("Megan Bowen"), teams_user("Adele Vance")


def playground_connector():
    """The Bot Framework stand-in at /_connector, like the playground's connector: it checks no token
    (and records the Authorization header each call came with)."""
    return served(FakeBotFramework(app_id=LOCAL_APP_ID, app_password="unused", check_tokens=False),
                  prefix="/_connector")


def placeholder_only(connector: FakeBotFramework) -> bool:
    return all(c.authorization == f"Bearer {PLACEHOLDER_TOKEN}" for c in connector.calls)


@dataclass
class LocalBot:
    connector: FakeBotFramework
    sender: TeamsSender
    place: TeamsPlace
    services: Services


@asynccontextmanager
async def local_bot(database_url: str) -> AsyncIterator[LocalBot]:
    settings = Settings(database_url=database_url, teams_local_dev=True, host="127.0.0.1", job_poll_s=0.05)
    async with playground_connector() as connector:
        app = create_app(settings, run_worker=False)
        async with serve(app) as url, aiohttp.ClientSession() as http:
            place = TeamsPlace(tenant_id=PLAYGROUND_TENANT, bot_id=LOCAL_APP_ID, service_url=connector.service_url)
            yield LocalBot(connector, TeamsSender(url, http), place, app[SERVICES])


def texts_sent(connector: FakeBotFramework) -> list[str]:
    return [c.body.get("text") or "" for c in connector.calls if c.kind in ("reply", "send")]


async def test_the_playground_escalates_without_an_entra_app_and_the_card_reaches_its_connector(sqlite_url):
    async with local_bot(sqlite_url) as bot:
        place = bot.place
        answer = await bot.sender.send(place.message("use this channel", sender=ALEX, in_channel=CHANNEL))
        assert answer.status in (200, 202)
        assert len(texts_sent(bot.connector)) == 1, "the bot answered through the playground's connector"
        assert placeholder_only(bot.connector), "every outbound call carried the placeholder token"

        fetched = await bot.sender.send(place.invoke("task/fetch", {"data": {"verb": "escalate"}}, sender=MEGAN))
        assert fetched.status == 200 and fetched.body["task"]["type"] == "continue"
        dialog = fetched.body["task"]["value"]["card"]["content"]["actions"][0]["data"]["dialog"]
        submitted = await bot.sender.send(place.invoke(
            "task/submit", {"data": {"dialog": dialog, "summary": "Printer on floor 3 is offline"}}, sender=MEGAN))
        assert submitted.status == 200 and submitted.body["task"]["type"] == "message"

        await bot.services.worker().drain(timeout_s=30)
        [(conversation, activity_id)] = bot.connector.created
        assert conversation.startswith(CHANNEL)
        assert "Printer on floor 3 is offline" in str(bot.connector.card_of(activity_id))
        assert placeholder_only(bot.connector)


@pytest.mark.parametrize("service_url", [
    "https://smba.trafficmanager.net/emea/",  # the real Bot Connector
    "http://10.1.2.3:56150/_connector",  # another machine
    "http://127.0.0.1.evil.example/_connector",
    None,
])
async def test_a_request_without_a_token_is_refused_unless_its_service_url_is_on_this_machine(sqlite_url, service_url):
    async with local_bot(sqlite_url) as bot:
        activity = bot.place.message("use this channel", sender=ALEX, in_channel=CHANNEL)
        activity["serviceUrl"] = service_url
        answer = await bot.sender.send(activity)
        assert answer.status == 401
        assert bot.connector.calls == [] and await bot.services.handoffs.admins(
            workspace=PLAYGROUND) == []


def _non_loopback_address() -> str | None:
    """This machine's own address on a network interface (not 127.0.0.1), if it has one: the source address
    of a route to a documentation address (connecting a UDP socket sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_a_request_without_a_token_that_reaches_a_network_interface_is_refused(sqlite_url):
    """Even if someone serves the app on every interface (not through `handoff serve`, which refuses),
    a token-less request that arrives on a non-loopback socket is 401, loopback serviceUrl or not."""
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no network interface besides loopback")
    settings = Settings(database_url=sqlite_url, teams_local_dev=True, host="127.0.0.1", job_poll_s=0.05)
    async with playground_connector() as connector:
        app = create_app(settings, run_worker=False)
        async with serve(app, host=address) as url, aiohttp.ClientSession() as http:
            place = TeamsPlace(tenant_id=PLAYGROUND_TENANT, bot_id=LOCAL_APP_ID, service_url=connector.service_url)
            answer = await TeamsSender(url, http).send(place.message("use this channel", sender=ALEX, in_channel=CHANNEL))
    assert answer.status == 401 and connector.calls == []


@pytest.mark.parametrize("token", ["not-a-jwt", "", "a b c", "forged"])
async def test_a_bad_token_is_still_401_in_local_dev(sqlite_url, token):
    async with local_bot(sqlite_url) as bot:
        if token == "forged":  # well-formed, signed by a key nobody trusts
            token = TokenSigner().mint(audience=LOCAL_APP_ID, service_url=bot.connector.service_url)
        answer = await bot.sender.send(bot.place.message("use this channel", sender=ALEX, in_channel=CHANNEL),
                                       token=token)
        assert answer.status == 401
        assert bot.connector.calls == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**values: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SLACK_", "MICROSOFT_", "HANDOFF_"))}
    return {**keep, **values}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_serve_refuses_local_dev_on_a_non_loopback_address(tmp_path, host):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--host", host, "--port", str(_free_port())],
        env=_env(HANDOFF_TEAMS_LOCAL_DEV="1", HANDOFF_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/h.db"),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "HANDOFF_TEAMS_LOCAL_DEV=1" in line and repr(host) in line and "--host 127.0.0.1" in line


async def test_handoff_serve_on_127_0_0_1_takes_the_playgrounds_requests_and_says_so_loudly(tmp_path):
    port = _free_port()
    async with playground_connector() as connector:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            env=_env(HANDOFF_TEAMS_LOCAL_DEV="1", HANDOFF_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/h.db"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with aiohttp.ClientSession() as http:
                await _until_ready(http, f"http://127.0.0.1:{port}/readyz")
                place = TeamsPlace(tenant_id=PLAYGROUND_TENANT, bot_id=LOCAL_APP_ID, service_url=connector.service_url)
                answer = await TeamsSender(f"http://127.0.0.1:{port}", http).send(place.message("help", sender=ALEX))
            assert answer.status in (200, 202)
            [reply] = texts_sent(connector)
            assert reply and placeholder_only(connector)
        finally:
            proc.terminate()
            log = (await proc.communicate())[0].decode()
    assert "WARNING" in log and "HANDOFF_TEAMS_LOCAL_DEV=1" in log and "Never run this in production" in log


async def _until_ready(http: aiohttp.ClientSession, url: str, timeout_s: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("handoff serve did not become ready")
        await asyncio.sleep(0.1)
