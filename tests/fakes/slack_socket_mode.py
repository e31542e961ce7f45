"""Slack's Socket Mode side, served on 127.0.0.1: `apps.connections.open` hands out a ws:// URL and
the websocket carries envelopes, as Slack documents them (https://api.slack.com/apis/socket-mode,
https://api.slack.com/methods/apps.connections.open):

- apps.connections.open takes the app-level token (`xapp-`) as a Bearer token and answers
  {"ok": true, "url": "wss://..."}; any other token is `invalid_auth`.
- On connect the server sends {"type": "hello", ...}. Each request is an envelope
  {"envelope_id", "type": "slash_commands" | "interactive" | "events_api", "payload",
  "accepts_response_payload", "retry_attempt", "retry_reason"}; the app acks with
  {"envelope_id", "payload"?} (Slack wants it within 3 seconds).
- {"type": "disconnect", "reason": "refresh_requested"} asks the app to reconnect; the server closes the
  old socket a little later.
The rest of the Web API is the ordinary stand-in.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes.slack_api import Call, SlackWebApiStandIn, Team, slack_requests

APP_TOKEN = "xapp-1-A-HANDOFF-1-secret"


@dataclass
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    elapsed_s: float
    connection: int  # which websocket connection carried it (1 = the first)


class SlackSocketModeStandIn(SlackWebApiStandIn):
    def __init__(self, *teams: Team, app_token: str = APP_TOKEN) -> None:
        super().__init__(*teams)
        self.app_token = app_token
        self.base_url = ""  # set once served (the ws:// URL is built from it)
        self.connections: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future] = {}
        self._sent_at: dict[str, float] = {}
        self._tickets = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/apps.connections.open", self._connections_open)
        app.router.add_get("/link/", self._websocket)
        app.router.add_route("*", "/api/{method}", self._handle)
        return app

    async def _connections_open(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        call = Call("apps.connections.open", {}, token, time.monotonic(), ok=token == self.app_token)
        self.calls.append(call)
        if not call.ok:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        ws_url = self.base_url.replace("http://", "ws://", 1) + f"/link/?ticket={next(self._tickets)}"
        return web.json_response({"ok": True, "url": ws_url})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections.append(ws)
        number = len(self.connections)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A-HANDOFF"},
                            "debug_info": {"host": "applink-test", "approximate_connection_time": 18060}})
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            ack = json.loads(message.data)
            future = self._acks.get(ack.get("envelope_id", ""))
            if future is not None and not future.done():
                elapsed = time.perf_counter() - self._sent_at[ack["envelope_id"]]
                future.set_result(Ack(ack["envelope_id"], ack.get("payload"), elapsed, number))
        return ws

    # --- what tests do -----------------------------------------------------------------------------

    async def connected(self, count: int, timeout_s: float = 10) -> None:
        """Wait until the app has opened its `count`th connection and it is open."""
        deadline = time.monotonic() + timeout_s
        while len(self.connections) < count or self.connections[-1].closed:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.connections)} connection(s), wanted {count}")
            await asyncio.sleep(0.02)

    async def send(self, kind: str, body: slack_requests.Body, *, timeout_s: float = 5) -> Ack:
        """Carry one request (built by standins.slack.requests) to the app as an envelope; its ack."""
        fields = dict(parse_qsl(body.text, keep_blank_values=True)) if "urlencoded" in body.content_type \
            else json.loads(body.text)
        payload = json.loads(fields["payload"]) if "payload" in fields else fields
        envelope_id = str(uuid.uuid4())
        self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        self._sent_at[envelope_id] = time.perf_counter()
        await self.connections[-1].send_json({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": "",
        })
        return await asyncio.wait_for(self._acks[envelope_id], timeout_s)

    async def send_raw(self, text: str) -> None:
        await self.connections[-1].send_str(text)

    async def disconnect(self, timeout_s: float = 10) -> None:
        """Slack refreshes the connection: a disconnect message, and once the app has connected again
        (Slack gives it a few seconds), the old socket closes."""
        ws, count = self.connections[-1], len(self.connections)
        await ws.send_json({"type": "disconnect", "reason": "refresh_requested",
                            "debug_info": {"host": "applink-test"}})
        await self.connected(count + 1, timeout_s)
        await ws.close()
