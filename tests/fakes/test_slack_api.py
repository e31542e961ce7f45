"""The Slack fake itself, driven by the real slack_sdk client over HTTP."""

import hmac
from hashlib import sha256

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import ACME_TEAM, fake_slack, signed_headers


async def test_posts_threads_updates_and_records_calls():
    async with fake_slack() as (fake, base_url):
        client = AsyncWebClient(token=ACME_TEAM.bot_token, base_url=base_url)
        assert (await client.auth_test())["team_id"] == "T-ACME"
        posted = await client.chat_postMessage(channel="C1", text="card", blocks=[{"type": "divider"}],
                                               metadata={"event_type": "handoff_card", "event_payload": {"id": "h1"}})
        await client.chat_postMessage(channel="C1", text="reply", thread_ts=posted["ts"])
        await client.chat_update(channel="C1", ts=posted["ts"], text="edited", blocks=[])
        assert [m["text"] for m in fake.channel("C1")] == ["edited"]
        assert [m["text"] for m in fake.thread("C1", posted["ts"])] == ["reply"]
        history = await client.conversations_history(channel="C1", include_all_metadata=True)
        assert history["messages"][0]["metadata"]["event_payload"] == {"id": "h1"}
        link = await client.chat_getPermalink(channel="C1", message_ts=posted["ts"])
        assert link["permalink"].startswith("https://acme.slack.com/archives/C1/p")
        assert [c.method for c in fake.calls][:2] == ["auth.test", "chat.postMessage"]


async def test_answers_429_with_retry_after_on_demand_then_recovers():
    async with fake_slack() as (fake, base_url):
        client = AsyncWebClient(token=ACME_TEAM.bot_token, base_url=base_url)
        fake.fail("chat.update", status=429, retry_after=7)
        with pytest.raises(SlackApiError) as error:
            await client.chat_update(channel="C1", ts="1.0", text="x")
        assert error.value.response.status_code == 429
        assert error.value.response.headers["Retry-After"] == "7"
        posted = await client.chat_postMessage(channel="C1", text="x")
        await client.chat_update(channel="C1", ts=posted["ts"], text="y")
        assert len(fake.calls_to("chat.update", ok_only=False)) == 2 and len(fake.calls_to("chat.update")) == 1


async def test_wrong_token_and_not_in_channel_are_slack_errors():
    async with fake_slack() as (fake, base_url):
        with pytest.raises(SlackApiError, match="invalid_auth"):
            await AsyncWebClient(token="xoxb-wrong", base_url=base_url).auth_test()
        fake.world.not_in_channels.add("C-PRIVATE")
        with pytest.raises(SlackApiError, match="not_in_channel"):
            await AsyncWebClient(token=ACME_TEAM.bot_token, base_url=base_url).conversations_replies(channel="C-PRIVATE", ts="1.0")


def test_signed_headers_match_slacks_algorithm():
    headers = signed_headers("s3cret", "a=b", timestamp=1_700_000_000)
    expected = "v0=" + hmac.new(b"s3cret", b"v0:1700000000:a=b", sha256).hexdigest()
    assert headers == {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": expected}


async def test_users_info_shows_the_email_only_with_users_read_email():
    """https://api.slack.com/methods/users.info: profile.email needs users:read.email; every answer names the
    token's scopes in X-OAuth-Scopes."""
    from dataclasses import replace

    narrow = replace(ACME_TEAM, scopes=("commands", "chat:write", "users:read"))
    async with fake_slack(ACME_TEAM) as (fake, base_url):
        fake.add_user("U-DANA", "Dana", team_id="T-ACME", email="dana@acme.example")
        answer = await AsyncWebClient(token=ACME_TEAM.bot_token, base_url=base_url).users_info(user="U-DANA")
        assert answer["user"]["profile"]["email"] == "dana@acme.example"
        assert "users:read.email" in answer.headers["X-OAuth-Scopes"].split(",")
    async with fake_slack(narrow) as (fake, base_url):
        fake.add_user("U-DANA", "Dana", team_id="T-ACME", email="dana@acme.example")
        answer = await AsyncWebClient(token=narrow.bot_token, base_url=base_url).users_info(user="U-DANA")
        assert "email" not in answer["user"]["profile"] and answer["user"]["profile"]["display_name"] == "Dana"
        assert answer.headers["X-OAuth-Scopes"] == "commands,chat:write,users:read"
