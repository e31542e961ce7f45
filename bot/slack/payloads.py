"""Reading what Slack sends into the core's terms. Pure: dicts in, values out, never raises on bad input."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cards.limits import SLACK_PRIVATE_METADATA
from cards.slack_views import INTENT_FIELD, INTENTS, TARGET_FIELD
from cards.slack_settings import CHANNEL_FIELD, REMINDERS_FIELD, ROLE_FIELD, ROLE_PEOPLE_FIELD
from core.models import ROLES, PersonKey, WorkspaceKey
from core.snapshot import FIELD_LIMITS

MODAL_FIELDS = ("summary", "tried", "notes", "urgency", "ticket")
EXCERPT_MESSAGES = 15  # conversations.replies is tightly rate-limited: one call, this many at most


def workspace_of(body: dict[str, Any]) -> WorkspaceKey:
    team = body.get("team") or {}
    team_id = body.get("team_id") or team.get("id") or (body.get("user") or {}).get("team_id") or ""
    return WorkspaceKey("slack", team_id)


def person_of(body: dict[str, Any]) -> PersonKey:
    """The acting user: slash commands carry user_id/user_name, interactions a user object."""
    user = body.get("user")
    if isinstance(user, dict):
        return PersonKey(user.get("id", ""), user.get("name") or user.get("username") or "")
    return PersonKey(body.get("user_id", ""), body.get("user_name") or "")


def channel_of(body: dict[str, Any]) -> str | None:
    channel = body.get("channel")
    if isinstance(channel, dict):
        return channel.get("id")
    return body.get("channel_id") or (body.get("container") or {}).get("channel_id")


def button_value(body: dict[str, Any]) -> str:
    """A button's value, or the option chosen in a select."""
    action = (body.get("actions") or [{}])[0]
    return str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")


def split_choice(value: str) -> tuple[str, str | None]:
    """'<handoff id>|<choice>' (a menu's option, cards.slack.button) -> (handoff id, choice); a plain
    button's value (a card posted before the menu) has no choice."""
    handoff, bar, choice = value.partition("|")
    return handoff, (choice if bar else None)


# --- the modal ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModalContext:
    """What the modal carries in private_metadata: where it was opened and what it quotes."""

    channel: str | None = None
    source_link: str = ""
    excerpt: str = ""

    def encode(self) -> str:
        data = {"channel": self.channel, "source_link": self.source_link[:500], "excerpt": self.excerpt}
        text = json.dumps(data, ensure_ascii=False)
        while len(text) > SLACK_PRIVATE_METADATA:  # keep the newest part of a long excerpt
            data["excerpt"] = "…" + data["excerpt"][len(text) - SLACK_PRIVATE_METADATA + 2 :]
            text = json.dumps(data, ensure_ascii=False)
        return text

    @classmethod
    def decode(cls, text: str | None) -> ModalContext:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        return cls(
            channel=data.get("channel") or None,
            source_link=str(data.get("source_link") or "")[: FIELD_LIMITS["source_link"][1]],
            excerpt=str(data.get("excerpt") or "")[: FIELD_LIMITS["excerpt"][1]],
        )


@dataclass(frozen=True)
class Submission:
    fields: dict[str, str]  # snapshot fields, for core.snapshot.validate_snapshot
    target: str | None
    intent: str  # escalate | park
    context: ModalContext


def _input_value(entry: dict[str, Any]) -> str | None:
    kind = entry.get("type")
    if kind in ("static_select", "radio_buttons"):
        return (entry.get("selected_option") or {}).get("value")
    if kind == "users_select":
        return entry.get("selected_user")
    return entry.get("value")


def parse_submission(view: dict[str, Any]) -> Submission:
    values = (view.get("state") or {}).get("values") or {}

    def value(block_id: str) -> str:
        entry = (values.get(block_id) or {}).get(block_id) or {}
        return str(_input_value(entry) or "")

    context = ModalContext.decode(view.get("private_metadata"))
    fields = {name: value(name) for name in MODAL_FIELDS}
    if context.source_link:
        fields["source_link"] = context.source_link
    if context.excerpt:
        fields["excerpt"] = context.excerpt
    intent = value(INTENT_FIELD)
    return Submission(
        fields=fields,
        target=value(TARGET_FIELD) or None,
        intent=intent if intent in INTENTS else "escalate",
        context=context,
    )


def modal_errors(errors: dict[str, str]) -> dict[str, str]:
    """Validation errors keyed by the modal's block ids (anything else shows under the summary)."""
    shown: dict[str, str] = {}
    for field, message in errors.items():
        block = field if field in MODAL_FIELDS else "summary"
        shown[block] = f"{shown[block]} {message}" if block in shown else message
    return shown


def excerpt_from(messages: list[dict[str, Any]]) -> str:
    """The thread's recent messages as plain lines: `<user>: text`."""
    lines = [f"{m.get('user') or m.get('bot_id') or 'someone'}: {m.get('text', '').strip()}" for m in messages[-EXCERPT_MESSAGES:]]
    return "\n".join(line for line in lines if not line.endswith(": "))


# --- settings and roles --------------------------------------------------------------------------

SETUP_WORDS = ("setup", "settings")
_ESCAPED = re.compile(r"<([@#!])([A-Za-z0-9_^-]+)(?:\|([^>]*))?>|<(https?://[^|>]+)(?:\|([^>]*))?>")
_USER = re.compile(r"<@([UW][A-Z0-9]+|U-[A-Z0-9-]+)(?:\|([^>]*))?>")


def readable_command_text(text: str) -> str:
    """Slash command text as the person typed it: Slack escapes mentions (`<@U1|dana>` -> `@dana`,
    `<#C1|ops>` -> `#ops`) and links (`<https://x|x>` -> `https://x`) because the command asks it to."""
    def plain(match: re.Match) -> str:
        if match.group(4):
            return match.group(4)
        sigil, ident, label = match.group(1), match.group(2), match.group(3)
        return f"{'@' if sigil == '!' else sigil}{label or ident}"
    return _ESCAPED.sub(plain, text)


def is_setup_command(text: str) -> bool:
    return text.strip().lower() in SETUP_WORDS


@dataclass(frozen=True)
class RoleCommand:
    """`/escalate role @dana @sam engineer`: who and what. `role` is None when the command is malformed."""

    people: tuple[PersonKey, ...]
    role: str | None


def parse_role_command(text: str) -> RoleCommand | None:
    """None when the text is not a role command at all."""
    words = text.strip().split()
    if not words or words[0].lower() != "role":
        return None
    people = {m.group(1): PersonKey(m.group(1), m.group(2) or "") for m in _USER.finditer(text)}
    role = words[-1].lower() if len(words) > 1 else None
    return RoleCommand(tuple(people.values()), role if role in ROLES and people else None)


@dataclass(frozen=True)
class SettingsChoice:
    channel: str | None
    people: tuple[PersonKey, ...]
    role: str | None
    reminders: str | None = None  # the schedule as typed ("" = back to the default); None: not in the form


def parse_settings(view: dict[str, Any]) -> SettingsChoice:
    values = (view.get("state") or {}).get("values") or {}

    def entry(block_id: str) -> dict[str, Any]:
        return (values.get(block_id) or {}).get(block_id) or {}

    channel = entry(CHANNEL_FIELD).get("selected_conversation") or None
    people = tuple(PersonKey(str(u)) for u in entry(ROLE_PEOPLE_FIELD).get("selected_users") or [])
    role = (entry(ROLE_FIELD).get("selected_option") or {}).get("value")
    reminders = values.get(REMINDERS_FIELD)
    schedule = (entry(REMINDERS_FIELD).get("value") or "") if reminders is not None else None
    return SettingsChoice(channel, people, role if role in ROLES else None, schedule)
