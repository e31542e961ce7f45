"""What Slack sends a bot: signed HTTP requests with slash commands, clicks, submissions, events.

Builders return the body exactly as Slack encodes it (form fields, `payload=<json>`, or JSON);
`SlackSender` signs it with the signing secret (HMAC-SHA256, v0) and posts it over real HTTP.
Per Slack's docs: api.slack.com/authentication/verifying-requests-from-slack, api.slack.com/interactivity.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

_ids = itertools.count(1)


@dataclass(frozen=True)
class Actor:
    """Who is doing it, in which workspace and channel."""

    user_id: str
    name: str
    team_id: str = "T-ACME"
    channel_id: str = "C-ESCALATIONS"


@dataclass(frozen=True)
class Body:
    text: str
    content_type: str


def _form(fields: dict[str, Any]) -> Body:
    return Body(urlencode(fields), "application/x-www-form-urlencoded")


def _payload(payload: dict[str, Any]) -> Body:
    return _form({"payload": json.dumps(payload)})


def trigger_id() -> str:
    return f"trigger.{next(_ids)}.{int(time.time())}"


def _user(actor: Actor) -> dict[str, Any]:
    return {"id": actor.user_id, "username": actor.name.lower(), "name": actor.name.lower(), "team_id": actor.team_id}


def slash_command(actor: Actor, text: str = "", *, command: str = "/escalate",
                  response_url: str = "https://hooks.slack.invalid/commands/1") -> Body:
    return _form({
        "token": "legacy-unused", "team_id": actor.team_id, "team_domain": "acme",
        "channel_id": actor.channel_id, "channel_name": "help-desk", "user_id": actor.user_id,
        "user_name": actor.name.lower(), "command": command, "text": text, "api_app_id": "A-HANDOFF",
        "response_url": response_url, "trigger_id": trigger_id(),
    })


def block_action(actor: Actor, *, action_id: str, value: str, message_ts: str, channel_id: str | None = None,
                 response_url: str = "https://hooks.slack.invalid/actions/1", option: dict | None = None) -> Body:
    """A click on a button (`value`), or with `option` (one of a static_select's options, as the message
    carries it) a choice in a select menu."""
    channel = channel_id or actor.channel_id
    action: dict[str, Any] = {"type": "button", "action_id": action_id, "block_id": "handoff_actions", "value": value,
                              "action_ts": f"{time.time():.6f}"}
    if option is not None:
        action = {"type": "static_select", "action_id": action_id, "block_id": "handoff_actions",
                  "selected_option": option, "action_ts": f"{time.time():.6f}"}
    return _payload({
        "type": "block_actions", "team": {"id": actor.team_id, "domain": "acme"}, "user": _user(actor),
        "api_app_id": "A-HANDOFF", "trigger_id": trigger_id(),
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "escalations"},
        "message": {"type": "message", "ts": message_ts, "text": ""},
        "response_url": response_url,
        "actions": [action],
    })


def view_action(actor: Actor, *, action_id: str, view: dict[str, Any], value: str = "",
                selected: str | None = None, ticked: list[dict[str, Any]] | None = None,
                block_id: str = "actions") -> Body:
    """A click in a view (App Home or a modal): a button (`value`), a static_select's new choice
    (`selected`), or a checkboxes element's options as they are now (`ticked`: [] when all are unticked).
    Such payloads carry the view (id, hash, callback, state) and no channel or response_url."""
    if ticked is not None:
        action = {"type": "checkboxes", "action_id": action_id, "block_id": block_id, "selected_options": ticked,
                  "action_ts": f"{time.time():.6f}"}
    elif selected is not None:
        action = {"type": "static_select", "action_id": action_id, "block_id": block_id,
                  "selected_option": {"value": selected}, "action_ts": f"{time.time():.6f}"}
    else:
        action = {"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                  "action_ts": f"{time.time():.6f}"}
    return _payload({
        "type": "block_actions", "team": {"id": actor.team_id, "domain": "acme"}, "user": _user(actor),
        "api_app_id": "A-HANDOFF", "trigger_id": trigger_id(),
        "container": {"type": "view", "view_id": view.get("id", "")},
        "view": {"hash": "h1", "state": {"values": {}}, **view}, "actions": [action],
    })


def modal_values(*, summary: str = "", tried: str = "", notes: str = "", urgency: str = "normal",
                 ticket: str = "", target: str | None = None, intent: str = "escalate") -> dict[str, Any]:
    """The `view.state.values` Slack sends for the /escalate modal."""

    def text(name: str, value: str) -> dict[str, Any]:
        return {name: {name: {"type": "plain_text_input", "value": value or None}}}

    return {
        **text("summary", summary), **text("tried", tried), **text("notes", notes), **text("ticket", ticket),
        "urgency": {"urgency": {"type": "static_select", "selected_option": {"value": urgency}}},
        "target": {"target": {"type": "users_select", "selected_user": target}},
        "intent": {"intent": {"type": "radio_buttons", "selected_option": {"value": intent}}},
    }


def view_submission(actor: Actor, *, view_id: str, values: dict[str, Any], private_metadata: str = "",
                    callback_id: str = "escalate_modal") -> Body:
    return _payload({
        "type": "view_submission", "team": {"id": actor.team_id, "domain": "acme"}, "user": _user(actor),
        "api_app_id": "A-HANDOFF", "trigger_id": trigger_id(),
        "view": {"id": view_id, "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
                 "hash": "h1", "state": {"values": values}},
    })


def message_shortcut(actor: Actor, *, message_ts: str, text: str, author: str,
                     callback_id: str = "escalate_thread", thread_ts: str | None = None) -> Body:
    message = {"type": "message", "ts": message_ts, "text": text, "user": author}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return _payload({
        "type": "message_action", "callback_id": callback_id, "trigger_id": trigger_id(),
        "team": {"id": actor.team_id, "domain": "acme"}, "user": _user(actor),
        "channel": {"id": actor.channel_id, "name": "help-desk"}, "message": message,
        "message_ts": message_ts, "response_url": "https://hooks.slack.invalid/shortcut/1",
    })


def event_callback(team_id: str, event: dict[str, Any], *, event_id: str | None = None) -> Body:
    return Body(json.dumps({
        "token": "legacy-unused", "team_id": team_id, "api_app_id": "A-HANDOFF", "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}", "event_time": int(time.time()), "event": event,
        "authorizations": [{"team_id": team_id, "user_id": "UBOT", "is_bot": True}],
    }), "application/json")


def thread_message(actor: Actor, *, text: str, thread_ts: str, ts: str | None = None) -> dict[str, Any]:
    return {"type": "message", "channel": actor.channel_id, "user": actor.user_id, "text": text,
            "ts": ts or f"{time.time():.6f}", "thread_ts": thread_ts, "channel_type": "channel"}


def signed_headers(secret: str, body: str, *, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


@dataclass
class Answer:
    status: int
    text: str
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class SlackSender:
    """Posts signed requests into the bot the way Slack does."""

    def __init__(self, bot_url: str, signing_secret: str, session: aiohttp.ClientSession) -> None:
        self.url = bot_url.rstrip("/") + "/slack/events"
        self.secret = signing_secret
        self.session = session

    async def send(self, body: Body, *, retry_num: int | None = None, timestamp: int | None = None,
                   secret: str | None = None) -> Answer:
        headers = {"Content-Type": body.content_type, **signed_headers(secret or self.secret, body.text, timestamp=timestamp)}
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
        started = time.perf_counter()
        async with self.session.post(self.url, data=body.text.encode(), headers=headers) as resp:
            text = await resp.text()
            return Answer(resp.status, text, time.perf_counter() - started)
