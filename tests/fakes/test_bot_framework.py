"""The fake Bot Framework itself: keys the SDK accepts, tokens it issues, a connector that records and throttles."""

from __future__ import annotations

import aiohttp
import jwt
import pytest

from standins.teams.bot_framework import BOT_FRAMEWORK_ISSUER, FakeBotFramework, TokenSigner
from tests.servers import serve


@pytest.fixture
async def fake():
    bf = FakeBotFramework(app_id="app-1", app_password="secret")
    async with serve(bf.app()) as url, aiohttp.ClientSession() as http:
        bf.base_url = url
        bf.http = http
        yield bf


async def token(fake) -> str:
    form = {"grant_type": "client_credentials", "client_id": "app-1", "client_secret": "secret",
            "scope": "https://api.botframework.com/.default"}
    async with fake.http.post(fake.token_url, data=form) as r:
        assert r.status == 200
        return (await r.json())["access_token"]


async def test_openid_metadata_points_at_keys_that_verify_minted_tokens(fake):
    async with fake.http.get(f"{fake.base_url}/v1/.well-known/openidconfiguration") as r:
        metadata = await r.json()
    assert metadata["issuer"] == BOT_FRAMEWORK_ISSUER and metadata["jwks_uri"] == fake.jwks_url
    async with fake.http.get(metadata["jwks_uri"]) as r:
        [key] = (await r.json())["keys"]
    claims = jwt.decode(fake.channel_token(), jwt.PyJWK(key).key, algorithms=["RS256"], audience="app-1")
    assert claims["iss"] == BOT_FRAMEWORK_ISSUER and claims["serviceurl"] == fake.service_url
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(TokenSigner(kid=key["kid"]).mint(audience="app-1"), jwt.PyJWK(key).key, algorithms=["RS256"], audience="app-1")


async def test_token_endpoint_checks_the_client_secret(fake):
    assert (await token(fake)) in fake.issued_tokens
    form = {"grant_type": "client_credentials", "client_id": "app-1", "client_secret": "wrong", "scope": "x"}
    async with fake.http.post(fake.token_url, data=form) as r:
        assert r.status == 401


async def test_connector_records_creates_replies_and_updates(fake):
    headers = {"Authorization": f"Bearer {await token(fake)}"}
    card = {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"v": 1}}]}
    async with fake.http.post(f"{fake.base_url}/v3/conversations", headers=headers,
                              json={"isGroup": True, "channelData": {"channel": {"id": "19:c@thread.tacv2"}}, "activity": card}) as r:
        created = await r.json()
    assert r.status == 201 and created["id"] == f"19:c@thread.tacv2;messageid={created['activityId']}"
    base = f"{fake.base_url}/v3/conversations/{created['id']}/activities"
    async with fake.http.post(f"{base}/{created['activityId']}", headers=headers, json={"type": "message", "text": "hi"}) as r:
        assert r.status == 201
    updated = {"type": "message", "attachments": [{"contentType": "x", "content": {"v": 2}}]}
    async with fake.http.put(f"{base}/{created['activityId']}", headers=headers, json=updated) as r:
        assert r.status == 200
    assert [c.kind for c in fake.calls if c.kind != "token"] == ["create", "reply", "update"]
    assert fake.card_of(created["activityId"]) == {"v": 2}
    async with fake.http.put(f"{base}/404", headers=headers, json=updated) as r:
        assert r.status == 404


async def test_connector_refuses_unknown_tokens_and_can_throttle(fake):
    async with fake.http.post(f"{fake.base_url}/v3/conversations/c/activities", json={"type": "message"},
                              headers={"Authorization": "Bearer made-up"}) as r:
        assert r.status == 401
    headers = {"Authorization": f"Bearer {await token(fake)}"}
    fake.fail_next("send", 429, retry_after=2)
    async with fake.http.post(f"{fake.base_url}/v3/conversations/c/activities", json={"type": "message"}, headers=headers) as r:
        assert r.status == 429 and r.headers["Retry-After"] == "2"
    async with fake.http.post(f"{fake.base_url}/v3/conversations/c/activities", json={"type": "message"}, headers=headers) as r:
        assert r.status == 201
    assert [status for _, status in fake.refused] == [401, 429] and len(fake.of_kind("send")) == 1
