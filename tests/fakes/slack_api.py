"""The Slack fake for tests: the package's stand-in (one piece of code for one job), served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from standins.slack import requests as slack_requests
from standins.slack.requests import Actor, SlackSender, signed_headers
from standins.slack.web_api import Call, SlackWebApiStandIn, Team
from tests.servers import serve

__all__ = ["Actor", "Call", "SlackSender", "SlackWebApiStandIn", "Team", "fake_slack", "signed_headers", "slack_requests"]

ACME_TEAM = Team(id="T-ACME", name="Acme MSP", bot_token="xoxb-acme")
GLOBEX_TEAM = Team(id="T-GLOBEX", name="Globex", bot_token="xoxb-globex", domain="globex")


@asynccontextmanager
async def fake_slack(*teams: Team) -> AsyncIterator[tuple[SlackWebApiStandIn, str]]:
    """A running fake Web API; yields it and the base URL to give SLACK_API_URL."""
    fake = SlackWebApiStandIn(*(teams or (ACME_TEAM,)))
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake, f"{url}/api/"
