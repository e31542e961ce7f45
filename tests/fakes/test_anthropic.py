"""The fake Anthropic API answers the way the real SDK expects, and does what each script says."""

import asyncio
import json
import time

import aiohttp
import anthropic
import pytest

from tests.fakes import anthropic as fa
from tests.servers import serve

MESSAGE = {"model": "claude-test", "max_tokens": 100, "messages": [{"role": "user", "content": "hello"}]}


def client(url: str, **options) -> anthropic.AsyncAnthropic:
    options.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=url, **options)


async def test_valid_assessment_through_the_sdk_is_recorded():
    fake = fa.FakeAnthropic()
    async with serve(fake.app()) as url:
        async with client(url) as sdk:
            message = await sdk.messages.create(**MESSAGE)
    assert message.stop_reason == "end_turn"
    assert json.loads(message.content[0].text) == fa.VALID_ASSESSMENT
    assert (message.usage.input_tokens, message.usage.output_tokens) == (420, 180)
    assert message._request_id.startswith("req_fake_")
    assert len(fake.requests) == 1 and fake.requests[0].body["model"] == "claude-test"
    assert "hello" in fake.requests[0].prompt_text


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"x-api-key": "sk-ant-test"}, 200),
        ({"Authorization": "Bearer sk-ant-test"}, 200),
        ({"x-api-key": "wrong"}, 401),
        ({}, 401),
    ],
)
async def test_accepts_x_api_key_or_bearer_and_refuses_anything_else(headers, status):
    fake = fa.FakeAnthropic()
    async with serve(fake.app()) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/v1/messages", json=MESSAGE, headers=headers) as response:
            body = await response.json()
    assert response.status == status
    assert body["type"] == ("message" if status == 200 else "error")


async def test_script_is_served_in_order_then_the_default():
    fake = fa.FakeAnthropic(default=fa.refusal())
    fake.script(fa.malformed(), fa.schema_invalid())
    async with serve(fake.app()) as url:
        async with client(url) as sdk:
            first, second, third = [await sdk.messages.create(**MESSAGE) for _ in range(3)]
    with pytest.raises(ValueError):
        json.loads(first.content[0].text)
    assert json.loads(second.content[0].text)["confidence"] == "certain"
    assert third.stop_reason == "refusal" and third.content == []


@pytest.mark.parametrize(
    "answer, error, status",
    [
        (fa.rate_limited(retry_after_ms=1500), anthropic.RateLimitError, 429),
        (fa.overloaded(), anthropic.APIStatusError, 529),
        (fa.server_error(), anthropic.InternalServerError, 500),
    ],
)
async def test_error_answers_reach_the_sdk_as_its_typed_errors(answer, error, status):
    fake = fa.FakeAnthropic(default=answer)
    async with serve(fake.app()) as url:
        async with client(url) as sdk:
            with pytest.raises(error) as caught:
                await sdk.messages.create(**MESSAGE)
    assert caught.value.status_code == status
    if status == 429:
        assert caught.value.response.headers["retry-after-ms"] == "1500"


async def test_rate_limit_with_retry_after_seconds_header():
    fake = fa.FakeAnthropic(default=fa.rate_limited(retry_after="7"))
    async with serve(fake.app()) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/v1/messages", json=MESSAGE, headers={"x-api-key": "sk-ant-test"}) as response:
            assert (response.status, response.headers["retry-after"]) == (429, "7")


async def test_hang_holds_until_the_client_gives_up_then_lets_go():
    fake = fa.FakeAnthropic(default=fa.hang())
    async with serve(fake.app()) as url:
        started = time.monotonic()
        async with client(url, timeout=0.3) as sdk:
            with pytest.raises(anthropic.APITimeoutError):
                await sdk.messages.create(**MESSAGE)
        assert 0.25 < time.monotonic() - started < 2
        for _ in range(50):  # the handler notices the hang-up and finishes
            if fake.in_flight == 0:
                break
            await asyncio.sleep(0.02)
        assert fake.in_flight == 0


async def test_counts_concurrent_requests():
    fake = fa.FakeAnthropic(default=fa.assessment(delay_s=0.2))
    async with serve(fake.app()) as url:
        async with client(url) as sdk:
            await asyncio.gather(*[sdk.messages.create(**MESSAGE) for _ in range(5)])
    assert fake.max_in_flight == 5 and fake.in_flight == 0 and len(fake.requests) == 5
