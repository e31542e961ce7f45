"""A local stand-in for the Slack Web API, served over real HTTP (tests and `handoff demo`).

It keeps channels, threads, ephemerals and views the way Slack would, records every call, and
answers a 429 with Retry-After (or any error) on demand. The bot reaches it through the real
slack_sdk client pointed at `base_url`. Methods, arguments and errors follow Slack's published
reference (api.slack.com/methods/<method>; rate limits: api.slack.com/apis/rate-limits).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float  # time.monotonic() when it arrived
    ok: bool = True
    status: int = 200


class ApiError(Exception):
    """Answer {"ok": false, "error": <code>} the way Slack does (HTTP 200)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Team:
    id: str
    name: str
    bot_token: str
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    domain: str = "acme"
    # What the bot token was granted; Slack names them in every answer's X-OAuth-Scopes header.
    scopes: tuple[str, ...] = ("commands", "chat:write", "channels:history", "groups:history", "im:history",
                               "im:write", "users:read", "users:read.email")


@dataclass
class Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    times: int = 1
    drop: bool = False  # do the call (record the message), then drop the connection unanswered
    hang_s: float = 0.0  # answer only after this long (longer than the client waits: a hung call)
    match: dict[str, Any] = field(default_factory=dict)  # only calls with these arguments (e.g. a channel)


@dataclass
class SlackWorld:
    """What the stand-in knows: messages per channel, ephemerals, views, users."""

    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    home_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_in_channels: set[str] = field(default_factory=set)


def _parse_value(value: Any) -> Any:
    """Form-encoded calls carry blocks/view/metadata as JSON strings."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _page(messages: list[dict[str, Any]], args: dict[str, Any], *, default_limit: int) -> dict[str, Any]:
    """One page of a history or thread, the way Slack pages them: `limit`, and `cursor` from the previous
    page's response_metadata.next_cursor; metadata only with include_all_metadata
    (https://docs.slack.dev/reference/methods/conversations.history, .../conversations.replies)."""
    start = int(args.get("cursor") or 0)
    limit = int(args.get("limit") or default_limit)
    page = messages[start:start + limit]
    if str(args.get("include_all_metadata", "")).lower() not in ("1", "true"):
        page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
    more = start + limit < len(messages)
    return {"messages": page, "has_more": more, "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


class SlackWebApiStandIn:
    def __init__(self, *teams: Team) -> None:
        self.teams = {t.bot_token: t for t in teams}
        self.world = SlackWorld()
        self.calls: list[Call] = []
        self._failures: dict[str, list[Failure]] = {}
        self._delays: dict[str, float] = {}
        self._responses: dict[str, dict[str, Any]] = {}
        self.url: str | None = None  # where this stand-in is served, once it is (for response_url)
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._clock_base = int(time.time())

    # --- control (tests and the demo) ---------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/response/{token}", self._respond)
        return app

    def response_url(self, *, user: str, channel: str | None) -> str:
        """A response_url for one interaction, as Slack puts in each block_actions payload."""
        token = uuid.uuid4().hex
        self._responses[token] = {"user": user, "channel": channel, "uses": 0}
        return f"{self.url}/response/{token}"

    def fail(self, method: str, *, status: int = 200, error: str | None = None,
             retry_after: int | None = None, times: int = 1, match: dict[str, Any] | None = None) -> None:
        """The next `times` calls to `method` fail this way: 429 + Retry-After the way Slack rate-limits
        (https://docs.slack.dev/apis/web-api/rate-limits/), a 5xx, or `{"ok": false, "error": ...}`."""
        self._failures.setdefault(method, []).append(Failure(status, error, retry_after, times, match=match or {}))

    def drop_after_recording(self, method: str, *, times: int = 1, match: dict[str, Any] | None = None) -> None:
        """The next `times` calls to `method` take effect (a post is in the channel), then the connection
        drops before the answer: what a client sees when a reset or proxy cuts a call Slack completed."""
        self._failures.setdefault(method, []).append(Failure(times=times, drop=True, match=match or {}))

    def hang(self, method: str, *, seconds: float, times: int = 1, match: dict[str, Any] | None = None) -> None:
        """The next `times` calls to `method` take effect but are answered only after `seconds`."""
        self._failures.setdefault(method, []).append(Failure(times=times, hang_s=seconds, match=match or {}))

    def delay(self, method: str, seconds: float) -> None:
        """Answer `method` only after this long (a slow Slack)."""
        self._delays[method] = seconds

    def add_user(self, user_id: str, name: str, *, team_id: str = "", email: str | None = None) -> None:
        """Someone in the workspace; `email` is in their profile, shown only to tokens with users:read.email."""
        profile = {"display_name": name, "real_name": name, **({"email": email} if email else {})}
        self.world.users[user_id] = {
            "id": user_id, "team_id": team_id, "name": name.lower(), "real_name": name, "profile": profile,
        }

    def add_message(self, channel: str, *, text: str, user: str, thread_ts: str | None = None) -> str:
        ts = self._next_ts()
        message = {"type": "message", "ts": ts, "user": user, "text": text}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.world.messages.setdefault(channel, []).append(message)
        return ts

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def channel(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages in a channel, oldest first."""
        return [m for m in self.world.messages.get(channel, []) if m.get("thread_ts") in (None, m["ts"])]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies under a message, oldest first (not the parent)."""
        return [m for m in self.world.messages.get(channel, []) if m.get("thread_ts") == ts and m["ts"] != ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.world.messages.get(channel, []) if m["ts"] == ts), None)

    def ephemerals_for(self, user: str) -> list[dict[str, Any]]:
        return [e for e in self.world.ephemerals if e["user"] == user]

    def dms_to(self, user: str) -> list[dict[str, Any]]:
        return list(self.world.messages.get(f"D-{user}", [])) + list(self.world.messages.get(user, []))

    # --- HTTP -------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        return f"{self._clock_base}.{next(self._ts):06d}"

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        body = await request.text()
        if body:
            if request.content_type == "application/json":
                args.update(json.loads(body))
            else:
                args.update(dict(parse_qsl(body, keep_blank_values=True)))
        return {k: _parse_value(v) for k, v in args.items()}

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or args.pop("token", None)
        call = Call(method, args, token, time.monotonic())
        self.calls.append(call)
        if method in self._delays:
            await asyncio.sleep(self._delays[method])
        failure = self._take_failure(method, args)
        if failure is not None and (failure.drop or failure.hang_s):
            response = self._answer(method, args, token, call)
            if failure.hang_s:
                await asyncio.sleep(failure.hang_s)
            if failure.drop and request.transport is not None:
                request.transport.abort()  # the effect happened; its answer never arrives
            return response
        if failure is not None:
            call.ok, call.status = False, failure.status
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            error = failure.error or ("ratelimited" if failure.status == 429 else "fatal_error")
            return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)
        return self._answer(method, args, token, call)

    def _answer(self, method: str, args: dict[str, Any], token: str | None, call: Call) -> web.Response:
        team = self.teams.get(token or "")
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        try:
            if team is None and method != "oauth.v2.access":
                raise ApiError("invalid_auth")
            if handler is None:
                raise ApiError("unknown_method")
            headers = {"X-OAuth-Scopes": ",".join(team.scopes)} if team is not None else {}
            return web.json_response({"ok": True, **handler(team, args)}, headers=headers)
        except ApiError as error:
            call.ok = False
            return web.json_response({"ok": False, "error": error.code})

    async def _respond(self, request: web.Request) -> web.Response:
        """POST to a response_url (https://api.slack.com/interactivity/handling#message_responses): a JSON
        message; `response_type: ephemeral` (the default) shows it to the user who acted only, a new message
        unless `replace_original` is true. Each URL works up to 5 times within 30 minutes."""
        target = self._responses.get(request.match_info["token"])
        body = await request.json()
        if "response_url" in self._delays:  # delay("response_url", s): a slow answer to a response_url too
            await asyncio.sleep(self._delays["response_url"])
        self.calls.append(Call("response_url", body, None, time.monotonic()))
        if target is None:
            return web.Response(status=404, text="expired_url")
        target["uses"] += 1
        if target["uses"] > 5:
            return web.Response(status=404, text="used_url")
        if not body.get("text") and not body.get("blocks"):
            return web.Response(status=400, text="no_text")
        self.world.ephemerals.append({"channel": target["channel"], "user": target["user"], "ts": self._next_ts(),
                                      "text": body.get("text", ""), "blocks": body.get("blocks") or [],
                                      "via": "response_url", "at": time.monotonic()})
        return web.Response(text="ok")

    def _take_failure(self, method: str, args: dict[str, Any]) -> Failure | None:
        queue = self._failures.get(method) or []
        failure = next((f for f in queue if all(args.get(k) == v for k, v in f.match.items())), None)
        if failure is None:
            return None
        failure.times -= 1
        if failure.times <= 0:
            queue.remove(failure)
        return failure

    # --- methods ------------------------------------------------------------------------------

    def _m_auth_test(self, team: Team, args: dict) -> dict:
        return {"url": f"https://{team.domain}.slack.com/", "team": team.name, "user": "handoff",
                "team_id": team.id, "user_id": team.bot_user_id, "bot_id": team.bot_id}

    def _store_view(self, view: dict, view_id: str | None = None) -> dict:
        view_id = view_id or f"V{uuid.uuid4().hex[:10].upper()}"  # unique across runs, like Slack's
        stored = {**view, "id": view_id, "hash": f"h{next(self._ids)}"}
        self.world.views[view_id] = stored
        return stored

    def _m_views_open(self, team: Team, args: dict) -> dict:
        return {"view": self._store_view(args["view"])}

    def _m_views_update(self, team: Team, args: dict) -> dict:
        return {"view": self._store_view(args["view"], args.get("view_id"))}

    def _m_views_publish(self, team: Team, args: dict) -> dict:
        self.world.home_views[args["user_id"]] = args["view"]
        return {"view": {**args["view"], "id": f"V{next(self._ids):08d}"}}

    def _m_chat_postMessage(self, team: Team, args: dict) -> dict:
        channel = args["channel"]
        if channel.startswith("U"):
            channel = f"D-{channel}"  # a bot posting to a user id lands in its DM with them
        ts = self._next_ts()
        message = {"type": "message", "ts": ts, "user": team.bot_user_id, "bot_id": team.bot_id,
                   "text": args.get("text", ""), "blocks": args.get("blocks") or []}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self.world.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, team: Team, args: dict) -> dict:
        message = self.message(args["channel"], args["ts"])
        if message is None:
            raise ApiError("message_not_found")
        message.update(text=args.get("text", ""), blocks=args.get("blocks") or [], edited={"ts": self._next_ts()})
        return {"channel": args["channel"], "ts": args["ts"], "text": message["text"]}

    def _m_chat_postEphemeral(self, team: Team, args: dict) -> dict:
        ts = self._next_ts()
        self.world.ephemerals.append({"channel": args.get("channel"), "user": args["user"], "ts": ts,
                                      "text": args.get("text", ""), "blocks": args.get("blocks") or []})
        return {"message_ts": ts}

    def _m_chat_getPermalink(self, team: Team, args: dict) -> dict:
        ts = str(args["message_ts"]).replace(".", "")
        return {"channel": args["channel"], "permalink": f"https://{team.domain}.slack.com/archives/{args['channel']}/p{ts}"}

    def _not_in_channel(self, channel: str) -> None:
        if channel in self.world.not_in_channels:
            raise ApiError("not_in_channel")

    def _m_conversations_replies(self, team: Team, args: dict) -> dict:
        channel, ts = args["channel"], args["ts"]
        self._not_in_channel(channel)
        parent = self.message(channel, ts)
        if parent is None:
            raise ApiError("thread_not_found")
        root = parent.get("thread_ts") or ts
        thread = [m for m in self.world.messages[channel] if m["ts"] == root or m.get("thread_ts") == root]
        return _page(thread, args, default_limit=1000)

    def _m_conversations_history(self, team: Team, args: dict) -> dict:
        channel = args["channel"]
        self._not_in_channel(channel)
        oldest = float(args.get("oldest") or 0)
        found = [m for m in reversed(self.channel(channel)) if float(m["ts"]) >= oldest]
        return _page(found, args, default_limit=100)

    def _m_conversations_open(self, team: Team, args: dict) -> dict:
        users = str(args["users"]).split(",")
        return {"channel": {"id": f"D-{users[0]}"}}

    def _m_users_info(self, team: Team, args: dict) -> dict:
        """https://api.slack.com/methods/users.info: `profile.email` only with users:read.email
        (https://api.slack.com/scopes/users:read.email)."""
        if "users:read" not in team.scopes:
            raise ApiError("missing_scope")
        user = self.world.users.get(args["user"])
        if user is None:
            raise ApiError("user_not_found")
        if "users:read.email" not in team.scopes:
            user = {**user, "profile": {k: v for k, v in user["profile"].items() if k != "email"}}
        return {"user": user}

    def _m_oauth_v2_access(self, team: Team | None, args: dict) -> dict:
        first = next(iter(self.teams.values()))
        return {"access_token": first.bot_token, "token_type": "bot", "scope": "commands,chat:write",
                "bot_user_id": first.bot_user_id, "app_id": "A-HANDOFF",
                "team": {"id": first.id, "name": first.name}, "authed_user": {"id": args.get("user", "U-INSTALLER")}}
