"""Reading what we need out of inbound Teams activities. Pure."""

from __future__ import annotations

import re
import uuid
from typing import Any

from microsoft_agents.activity import Activity

from core.models import ROLES, PersonKey, WorkspaceKey
from core.snapshot import FIELD_LIMITS

SNAPSHOT_FIELDS = (*FIELD_LIMITS, "urgency")
_AT_TAG = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]+>")


def _channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    if data is None:
        return {}
    return data if isinstance(data, dict) else data.model_dump(by_alias=True, exclude_none=True)


def tenant_id(activity: Activity, default: str | None = None) -> str | None:
    if activity.conversation is not None and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    return (_channel_data(activity).get("tenant") or {}).get("id") or default


def workspace_key(activity: Activity, default_tenant: str | None = None) -> WorkspaceKey | None:
    tenant = tenant_id(activity, default_tenant)
    if not tenant:
        return None
    team = (_channel_data(activity).get("team") or {}).get("name") or ""
    return WorkspaceKey("teams", tenant, team)


def person_key(activity: Activity) -> PersonKey | None:
    """The sender, keyed by their Entra object id when the activity carries it (Teams sends it for every
    user), so the senior picked in the dialog (the picker submits object ids) and the same senior
    clicking Pick Up are one person; their `29:…` id is kept for mentions. Else keyed by that id."""
    sender = activity.from_property
    if sender is None or not sender.id:
        return None
    return account_key(sender.id, sender.name, sender.aad_object_id)


def account_key(channel_id: str, name: str | None, aad_object_id: str | None) -> PersonKey:
    object_id = (aad_object_id or "").strip().lower()
    if is_object_id(object_id):
        return PersonKey(object_id, name or "", chat_id=channel_id)
    return PersonKey(channel_id, name or "")


def channel_id(activity: Activity) -> str | None:
    """The Teams channel a channel message was posted in (None outside channels)."""
    return (_channel_data(activity).get("channel") or {}).get("id")


def command_text(activity: Activity) -> str:
    """The message text without @mentions, lower-cased and squeezed: 'use this channel', 'escalate'."""
    text = _AT_TAG.sub(" ", activity.text or "")
    return " ".join(text.lower().split())


def role_command(command: str) -> str | None:
    """'make engineer' (the @mentions already taken out) -> 'engineer'; None if it is not that command."""
    words = command.split()
    if len(words) >= 2 and words[0] == "make" and words[-1] in ROLES:
        return words[-1]
    return None


def mentioned_people(activity: Activity) -> list[PersonKey]:
    """The people @mentioned in a message, without the bot itself, each once. A mention carries the
    `29:…` id only: the agent looks up each one's object id (account_key) before using it."""
    bot = activity.recipient.id if activity.recipient else None
    people: dict[str, PersonKey] = {}
    for mention in activity.get_mentions():
        who = mention.mentioned
        if who is not None and who.id and who.id != bot:
            people.setdefault(who.id, account_key(who.id, who.name, who.aad_object_id))
    return list(people.values())


def dialog_fields(data: Any) -> dict[str, str]:
    """The snapshot fields from a dialog submit (everything else in `data` is ours or Teams')."""
    if not isinstance(data, dict):
        return {}
    return {name: str(data[name]) for name in SNAPSHOT_FIELDS if data.get(name) is not None}


def dialog_target(data: Any) -> str:
    """The people picker's choice: one Entra object id, or '' when nobody was chosen."""
    if not isinstance(data, dict) or not isinstance(data.get("target"), str):
        return ""
    return data["target"].strip()


def is_object_id(value: str) -> bool:
    """Entra object ids are GUIDs; anything else in the picker's field was not chosen from the list."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def message_prefill(value: Any) -> dict[str, str]:
    """Dialog values from a message-extension action on a message: its text and its link."""
    payload = (value or {}).get("messagePayload") or {}
    body = payload.get("body") or {}
    text = body.get("content") or ""
    if (body.get("contentType") or "").lower() == "html":
        text = _HTML_TAG.sub("", text)
    text = text.strip()
    author = ((payload.get("from") or {}).get("user") or {}).get("displayName") or ""
    first_line = text.splitlines()[0] if text else ""
    return {
        "summary": first_line[: FIELD_LIMITS["summary"][1]],
        "excerpt": (f"{author}: {text}" if author else text)[: FIELD_LIMITS["excerpt"][1]],
        "source_link": (payload.get("linkToMessage") or "")[: FIELD_LIMITS["source_link"][1]],
    }
