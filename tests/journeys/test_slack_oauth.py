"""Many Slack workspaces: the OAuth v2 install over real HTTP, per-workspace tokens, refusals, removal."""

import logging

from sqlalchemy import text

from bot.slack_standin import requests as slack
from core.models import PersonKey, WorkspaceKey
from tests.journeys.slack_bot import card_text, eventually
from tests.journeys.slack_oauth_rig import ACME, CLIENT_ID, GLOBEX, actor, oauth_bot

JAMIE = actor(ACME, "U-JAMIE", "Jamie")
DANA = actor(ACME, "U-DANA", "Dana")
GLOBEX_GUS = actor(GLOBEX, "U-GUS", "Gus")


async def set_channel(bot, team, channel):
    await bot.handoffs.register_workspace(WorkspaceKey("slack", team.id), channel=channel)


async def escalate(bot, who, summary):
    """/escalate -> modal -> submit; returns the token Slack saw on views.open."""
    before = len(bot.fake.calls_to("views.open"))
    assert (await bot.send(slack.slash_command(who))).status == 200
    await eventually(lambda: len(bot.fake.calls_to("views.open")) > before)
    opened = bot.fake.calls_to("views.open")[-1]
    view = list(bot.fake.world.views.values())[-1]
    answer = await bot.send(slack.view_submission(who, view_id=view["id"], values=slack.modal_values(summary=summary)))
    assert answer.json()["response_action"] == "update", answer.text
    return opened.token


async def test_install_stores_the_workspace_and_its_requests_use_its_token(pg_url):
    async with oauth_bot(pg_url) as bot:
        query = await bot.start_install()
        assert query["client_id"] == [CLIENT_ID] and "commands" in query["scope"][0].split(",")
        state = query["state"][0]
        page = await bot.get("/slack/oauth_redirect", code=bot.fake.approve(ACME), state=state)
        assert page.status == 200 and "Handoff is installed in the Acme MSP workspace" in page.text
        assert "/escalate setup" in page.text
        [exchange] = bot.fake.calls_to("oauth.v2.access")
        assert exchange.args["code"].startswith("code-T-ACME")
        [stored] = await bot.stored_bots("T-ACME")
        [token] = bot.fake.tokens_of("T-ACME")
        assert stored["bot_token"] == token and stored["client_id"] == CLIENT_ID

        await set_channel(bot, ACME, "C-ACME-ESC")
        assert await escalate(bot, JAMIE, "VPN down for the Leeds office") == token
        await eventually(lambda: bot.fake.channel("C-ACME-ESC"))
        [card] = bot.fake.channel("C-ACME-ESC")
        assert "VPN down for the Leeds office" in card_text(card)
        posts = bot.fake.calls_to("chat.postMessage")
        assert posts and {c.token for c in posts} == {token}
