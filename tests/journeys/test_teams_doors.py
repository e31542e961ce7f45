"""Teams doors: bad tokens are refused with nothing recorded, duplicates make one handoff, throttled edits converge."""

from __future__ import annotations

import asyncio
import logging
import uuid

import aiohttp
import pytest

from bot.config import Settings
from bot.server import create_app
from standins.teams.bot_framework import TokenSigner
from tests.servers import serve
from tests.teams.harness import (
    ACME_TEAMS,
    DANA_TEAMS,
    card_action,
    invoke,
    open_dialog,
    posted_card,
    submit,
    teams_bot,
    teams_user,
    use_this_channel,
)

BAD_TOKENS = {
    "forged signature": lambda fake: TokenSigner(kid=fake.signer.kid).mint(audience=fake.app_id, service_url=fake.service_url),
    "expired": lambda fake: fake.channel_token(expires_in=-3600),
    "wrong audience": lambda fake: fake.channel_token(audience="another-bot"),
    "wrong issuer": lambda fake: fake.channel_token(issuer="https://sts.evil.example/"),
    "no token": lambda fake: None,
    "not a bearer token": lambda fake: "Basic dXNlcjpwYXNz",
    "garbage": lambda fake: "not-a-jwt",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_tokens_get_401_and_nothing_is_recorded(db, case):
    junior = teams_user("Jamie")
    async with teams_bot(db) as bot:
        await use_this_channel(bot, teams_user("Alex Admin"))
        calls_before = list(bot.fake.calls)
        token = BAD_TOKENS[case](bot.fake)
        activity = submit(junior, bot.fake.service_url, "dialog-1")
        if token is not None and token.startswith("Basic"):
            async with bot.http.post(f"{bot.url}/api/messages", json=activity, headers={"Authorization": token}) as r:
                status = r.status
        else:
            status, _ = await bot.send(activity, token=token)
        assert status == 401
        await bot.drain()
        assert await bot.handoffs.queue(workspace=ACME_TEAMS, viewer=DANA_TEAMS) == []
        assert bot.fake.calls == calls_before, "no connector or token call for a refused request"


async def test_a_duplicated_submit_makes_one_handoff_and_one_card(db):
    junior = teams_user("Jamie")
    async with teams_bot(db) as bot:
        await use_this_channel(bot, teams_user("Alex Admin"))
        activity = submit(junior, bot.fake.service_url, await open_dialog(bot, junior), ticket="INC-7")
        first = await bot.send(activity)
        again = await asyncio.gather(*(bot.send(activity) for _ in range(3)))  # Teams redelivering the same activity
        assert first[0] == 200 and all(status == 200 for status, _ in again)
        await bot.drain()
        assert len(await bot.handoffs.queue(workspace=ACME_TEAMS, viewer=DANA_TEAMS)) == 1
        assert len(bot.fake.of_kind("create")) == 1


async def test_a_throttled_card_update_is_retried_and_converges(db):
    junior, dana = teams_user("Jamie"), teams_user("Dana")
    async with teams_bot(db) as bot:
        url = bot.fake.service_url
        await use_this_channel(bot, teams_user("Alex Admin"))
        await bot.send(submit(junior, url, await open_dialog(bot, junior)))
        await bot.drain()
        conversation, activity_id, card = posted_card(bot)
        bot.fake.fail_next("update", 429, times=2, retry_after=0.2)
        bot.fake.fail_next("update", 502)
        status, body = await bot.send(card_action("pickup", card["actions"][0]["data"]["handoff_id"], sender=dana,
                                                  service_url=url, conversation_id=conversation))
        assert status == 200 and "Picked up by **Dana**" in str(body["value"]), "the clicker is answered at once"
        await bot.drain()
        assert [status for call, status in bot.fake.refused if call.kind == "update"] == [429, 429, 502]
        assert "Picked up by **Dana**" in str(bot.fake.card_of(activity_id))
        state = await bot.handoffs.get(workspace=ACME_TEAMS, handoff_id=uuid.UUID(card["actions"][0]["data"]["handoff_id"]))
        assert state.card.rendered_version == state.version and state.card.state == "posted"


async def test_message_extension_prefills_the_dialog_and_keeps_the_link(db):
    junior = teams_user("Jamie")
    link = "https://teams.microsoft.com/l/message/19:abc@thread.tacv2/1700000000000"
    payload = {"commandId": "escalateMessage", "commandContext": "message", "messagePayload": {
        "id": "1700000000000", "linkToMessage": link,
        "body": {"contentType": "html", "content": "<p>VPN drops every 10 minutes for <b>Sales</b></p>"},
        "from": {"user": {"id": "29:customer", "displayName": "Pat Customer"}},
    }}
    async with teams_bot(db) as bot:
        url = bot.fake.service_url
        await use_this_channel(bot, teams_user("Alex Admin"))
        status, body = await bot.send(invoke("composeExtension/fetchTask", payload, sender=junior, service_url=url))
        form = body["task"]["value"]["card"]["content"]
        assert status == 200 and {b.get("id"): b.get("value") for b in form["body"]}["summary"] == "VPN drops every 10 minutes for Sales"
        carried = form["actions"][0]["data"]
        assert carried["source_link"] == link and "Pat Customer" in carried["excerpt"]
        status, body = await bot.send(invoke("composeExtension/submitAction", {"commandId": "escalateMessage", "data": {
            **carried, "summary": "VPN drops every 10 minutes for Sales", "urgency": "high"}}, sender=junior, service_url=url))
        assert status == 200 and body["task"]["type"] == "message"
        [handoff] = await bot.handoffs.queue(workspace=ACME_TEAMS, viewer=DANA_TEAMS)
        assert handoff.snapshot.source_link == link and handoff.snapshot.urgency == "high"
        await bot.drain()
        assert link in str(posted_card(bot)[2])


async def test_escalating_before_a_channel_is_set_keeps_the_dialog_open(db):
    junior = teams_user("Jamie")
    async with teams_bot(db) as bot:
        status, body = await bot.send(submit(junior, bot.fake.service_url, "dialog-9", tried="Rebooted"))
        assert status == 200 and body["task"]["type"] == "continue"
        notice = body["task"]["value"]["card"]["content"]["body"][0]["text"]
        assert notice.startswith("Nothing was sent yet: no escalation channel is set up.")
        assert "@Handoff use this channel" in notice and "press Escalate again" in notice, "says what to do next"
        assert {b.get("id"): b.get("value") for b in body["task"]["value"]["card"]["content"]["body"]}["tried"] == "Rebooted"


async def test_the_channel_can_come_from_the_environment(db):
    junior = teams_user("Jamie")
    async with teams_bot(db) as bot:  # the fake's URL is known only once it runs, so set the variables then
        bot.services.settings.teams_channel_id = "19:from-env@thread.tacv2"
        bot.services.settings.teams_service_url = bot.fake.service_url
        status, body = await bot.send(submit(junior, bot.fake.service_url, "dialog-env"))
        assert body["task"]["type"] == "message"
        await bot.drain()
        [create] = bot.fake.of_kind("create")
        assert create.body["channelData"]["channel"]["id"] == "19:from-env@thread.tacv2"


async def test_without_an_app_id_the_route_is_off_and_the_log_says_so(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="handoff.teams")
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"), run_worker=False)
    async with serve(app) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/messages", json={"type": "message"}) as response:
            assert response.status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "handoff.teams"]
    assert lines == ["Teams is off: MICROSOFT_APP_ID is not set, so POST /api/messages is not served"]
