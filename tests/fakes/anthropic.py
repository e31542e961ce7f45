"""A fake Anthropic Messages API on 127.0.0.1: POST /v1/messages, scriptable per request, recording.

Tests point the real `anthropic.AsyncAnthropic` at it through `base_url`. Each request takes the next
scripted `Answer` (then `default`): a valid assessment, malformed or schema-invalid output, a refusal,
429 with retry-after(-ms), 529, 500, or a hang that lasts until the client gives up.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.claude import ClaudeAssessor
from tests.servers import serve

# The journeys' assessment: short, recognisable phrases for cards and checklists.
TLS_ASSESSMENT: dict[str, Any] = {
    "summary": "Inbound mail is rejected at the connector: likely an expired TLS certificate.",
    "likely_causes": ["Expired certificate on the inbound connector", "MX record points at an old gateway"],
    "confidence": "high",
    "next_steps": [
        "Check the inbound connector's certificate",
        "Renew it and re-test with an external sender",
        "Run a message trace for an external sender",
    ],
}

VALID_ASSESSMENT: dict[str, Any] = {
    "summary": "External mail to the finance mailbox is rejected before it reaches Exchange.",
    "likely_causes": [
        "The MX record or inbound connector points at a retired filtering service",
        "The finance mailbox hit its receive quota",
    ],
    "confidence": "medium",
    "next_steps": [
        "Send a test message from an external account and read the NDR code",
        "Check the domain's MX record and the inbound connector's smart host",
        "Run a message trace for the finance mailbox over the last 24 hours",
        "Check the mailbox's quota and receive limits",
    ],
}


@dataclass(frozen=True)
class Answer:
    """What the fake does with one request."""

    status: int = 200
    text: str | None = None  # the assistant's text block (200 only)
    stop_reason: str = "end_turn"
    error_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    delay_s: float = 0.0
    usage: tuple[int, int] = (420, 180)  # input, output tokens


def assessment(data: dict[str, Any] | None = None, *, delay_s: float = 0.0, **overrides: Any) -> Answer:
    return Answer(text=json.dumps({**(data or VALID_ASSESSMENT), **overrides}), delay_s=delay_s)


def raw_text(text: str) -> Answer:
    return Answer(text=text)


def malformed() -> Answer:
    return Answer(text='{"summary": "The MX record is wrong", "likely_causes": ["DNS"', stop_reason="max_tokens")


def schema_invalid() -> Answer:
    return Answer(text=json.dumps({"summary": "Probably DNS", "confidence": "certain", "next_steps": ["Fix it"]}))


def refusal() -> Answer:
    return Answer(text="", stop_reason="refusal")


def rate_limited(*, retry_after_ms: int | None = None, retry_after: str | None = None) -> Answer:
    headers = {}
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return Answer(status=429, error_type="rate_limit_error", headers=headers)


def overloaded() -> Answer:
    return Answer(status=529, error_type="overloaded_error")


def server_error() -> Answer:
    return Answer(status=500, error_type="api_error")


def hang() -> Answer:
    return Answer(hang=True)


@dataclass(frozen=True)
class Recorded:
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def prompt_text(self) -> str:
        """Every text the request carried to the model: system prompt and messages."""
        parts = [self.body.get("system") or ""]
        if isinstance(parts[0], list):
            parts = [block.get("text", "") for block in parts[0]]
        for message in self.body.get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            else:
                parts.extend(block.get("text", "") for block in content or [])
        return "\n".join(parts)


class FakeAnthropic:
    def __init__(self, *, api_key: str = "sk-ant-test", default: Answer | None = None) -> None:
        self.api_key = api_key
        self.default = default or assessment()
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[Answer] = deque()
        self._ids = itertools.count(1)
        self.gate = asyncio.Event()  # clear it to hold every answer back until it is set again
        self.gate.set()

    def script(self, *answers: Answer) -> FakeAnthropic:
        """The next requests get these answers, in order; later ones get `default`."""
        self._script.extend(answers)
        return self

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        return app

    def _authorized(self, request: web.Request) -> bool:
        key = request.headers.get("x-api-key")
        bearer = request.headers.get("Authorization", "")
        if bearer.lower().startswith("bearer "):
            key = key or bearer[7:].strip()
        return key == self.api_key

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            body = await request.json()
            self.requests.append(Recorded(dict(request.headers), body, time.monotonic()))
            if not self._authorized(request):
                return self._error(401, "authentication_error", "invalid x-api-key")
            answer = self._script.popleft() if self._script else self.default
            await self.gate.wait()
            if answer.delay_s:
                await asyncio.sleep(answer.delay_s)
            if answer.hang:
                await self._hang(request)
                return web.Response(status=504)
            if answer.status != 200:
                return self._error(answer.status, answer.error_type, f"fake {answer.error_type}", answer.headers)
            return web.json_response(self._message(body, answer), headers={"request-id": self._request_id()})
        finally:
            self.in_flight -= 1

    async def _hang(self, request: web.Request) -> None:
        """Hold the request until the client hangs up (its timeout), checking every 20 ms."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(0.02)

    def _request_id(self) -> str:
        return f"req_fake_{next(self._ids):04d}"

    def _message(self, body: dict[str, Any], answer: Answer) -> dict[str, Any]:
        content = [{"type": "text", "text": answer.text}] if answer.text else []
        return {
            "id": f"msg_fake_{len(self.requests):04d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-fake"),
            "content": content,
            "stop_reason": answer.stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": answer.usage[0], "output_tokens": answer.usage[1]},
        }

    def _error(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
        payload = {"type": "error", "error": {"type": kind, "message": message}, "request_id": self._request_id()}
        return web.json_response(payload, status=status, headers=headers or {})


@asynccontextmanager
async def claude_against(fake: FakeAnthropic) -> AsyncIterator[ClaudeAssessor]:
    """The real assessor (the anthropic SDK) talking to `fake` over HTTP on 127.0.0.1."""
    async with serve(fake.app()) as url:
        assessor = ClaudeAssessor(api_key=fake.api_key, base_url=url, model="claude-test", timeout_s=10, max_retries=0)
        try:
            yield assessor
        finally:
            await assessor.aclose()
