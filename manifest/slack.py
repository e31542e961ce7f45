"""The Slack app manifest that installs exactly this bot: one events URL, least-privilege scopes."""

from __future__ import annotations

import json
from typing import Any

# What Slack is told, and so what the bot listens for (bot/slack imports these; manifest/ imports no
# runtime code).
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"  # many workspaces: the admin's install link (OAuth v2)
REDIRECT_PATH = "/slack/oauth_redirect"  # where Slack sends the admin back with a code
COMMAND = "/escalate"
THREAD_SHORTCUT = "escalate_thread"  # the message shortcut's callback id

# The bot scopes, for the manifest and the OAuth install alike. Why each: commands -> /escalate and the
# message shortcut; chat:write -> the card, its edits, thread replies, ephemerals and DMs to user ids;
# channels:history / groups:history -> the owner's first reply in the card's thread (message events),
# "Escalate this thread" (conversations.replies), finding a card or reply a retried post already made, and
# `/escalate setup` checking the bot is in the channel an admin picks (conversations.history answers
# not_in_channel); im:write / im:history -> finding a direct message a retried post already sent
# (conversations.open + conversations.history on the bot's IM); users:read -> names in conflict replies;
# users:read.email -> the email in users.info's profile, to make the senior who picks up the ticket's owner
# in the PSA (HANDOFF_PSA_ASSIGN=true; https://api.slack.com/scopes/users:read.email, which needs users:read).
BOT_SCOPES = ["commands", "chat:write", "channels:history", "groups:history", "im:history", "im:write", "users:read",
              "users:read.email"]

BOT_EVENTS = ["app_home_opened", "message.channels", "message.groups"]


def build_manifest(*, url: str | None, socket_mode: bool = False, oauth: bool = False, token_rotation: bool = False,
                   name: str = "Handoff") -> dict[str, Any]:
    """`url`: the bot's public base URL (ignored in Socket Mode, which needs none). `oauth`: installable
    in many workspaces through /slack/install, so Slack must know the redirect URL (always under `url`)."""
    if (not socket_mode or oauth) and not url:
        raise ValueError("a public --url is needed unless --socket-mode is used (--oauth always needs one)")
    if token_rotation and not oauth:
        raise ValueError("--token-rotation needs --oauth (rotating tokens are only issued through OAuth)")
    oauth_config: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if oauth:
        oauth_config["redirect_urls"] = [url.rstrip("/") + REDIRECT_PATH]
    events_url = None if socket_mode else url.rstrip("/") + EVENTS_PATH

    def with_url(entry: dict[str, Any], key: str) -> dict[str, Any]:
        return {**entry, key: events_url} if events_url else entry

    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Escalate a stuck ticket; the first senior to press Pick Up owns it.",
            "long_description": (
                "Handoff turns \"I'm stuck, can someone senior take this?\" into a clean, accountable handoff. "
                "Run /escalate (or use \"Escalate this thread\" on a message): Handoff posts an escalation card "
                "in your escalation channel with a Pick Up button, adds a diagnostic assessment, and makes sure "
                "exactly one senior owns it, telling everyone else who did."
            ),
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True, "messages_tab_read_only_enabled": True},
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": [with_url({
                "command": COMMAND,
                "description": "Escalate a problem to a senior (or `list` your parked items)",
                "usage_hint": "[what's wrong] | list | setup | role @name viewer|engineer|admin",
                "should_escape": True,  # @mentions arrive as user ids (`/escalate role @dana engineer`)
            }, "url")],
            "shortcuts": [{
                "name": "Escalate this thread",
                "type": "message",
                "callback_id": THREAD_SHORTCUT,
                "description": "Escalate with this message and its thread attached",
            }],
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": with_url({"bot_events": list(BOT_EVENTS)}, "request_url"),
            "interactivity": with_url({"is_enabled": True}, "request_url"),
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": token_rotation,
        },
    }


def add_arguments(parser) -> None:
    parser.add_argument("--url", help="the bot's public base URL, e.g. https://bot.example.com")
    parser.add_argument("--socket-mode", action="store_true", help="no public URL: the bot connects out (SLACK_APP_TOKEN)")
    parser.add_argument("--oauth", action="store_true",
                        help="installable in many workspaces: adds the OAuth redirect URL (<url>/slack/oauth_redirect)")
    parser.add_argument("--token-rotation", action="store_true",
                        help="with --oauth: expiring bot tokens that Handoff refreshes (cannot be turned off later)")


def run(args, settings) -> int:
    try:
        manifest = build_manifest(url=args.url, socket_mode=args.socket_mode, oauth=args.oauth,
                                  token_rotation=args.token_rotation)
    except ValueError as error:
        print(f"handoff manifest slack: {error}")
        return 2
    print(json.dumps(manifest, indent=2))
    return 0


HELP = "the Slack app manifest (create the app from it at api.slack.com/apps)"
