"""What Teams sends a bot: activities POSTed to its messaging endpoint, and a sender that posts them.

Shapes follow Microsoft's published schema: the Bot Framework Activity object
(learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference#activity-object),
Teams' channelData and mentions (learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/
channel-and-group-conversations), dialogs (task/fetch, task/submit), message actions
(composeExtension/fetchTask, composeExtension/submitAction) and Universal Actions (adaptiveCard/action).
The Microsoft 365 Agents Playground posts the same shapes, without an Authorization header.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp


def teams_user(name: str) -> dict[str, str]:
    """A person's channel account as Teams sends it in `from` (id "29:...", name, Entra object id)."""
    slug = name.lower().replace(" ", "-")
    return {"id": f"29:{slug}", "name": name, "aadObjectId": str(uuid.uuid5(uuid.NAMESPACE_DNS, name))}


@dataclass(frozen=True)
class TeamsPlace:
    """One tenant's Teams as the bot sees it: who the bot is, where its connector is, the team."""

    tenant_id: str
    bot_id: str
    service_url: str
    team_id: str = "19:team@thread.tacv2"
    team_name: str = "IT Service Desk"
    bot_name: str = "Handoff"

    def _activity(self, kind: str, *, sender: dict[str, str], conversation: dict[str, Any],
                  channel_data: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "id": fields.pop("id", None) or f"f:{uuid.uuid4().hex}",
            "timestamp": datetime.now(UTC).isoformat(),
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "from": sender,
            "recipient": {"id": f"28:{self.bot_id}", "name": self.bot_name},
            "conversation": conversation,
            "channelData": channel_data or {"tenant": {"id": self.tenant_id}},
            "locale": "en-US",
            **fields,
        }

    def personal_chat(self, person: dict[str, str]) -> dict[str, Any]:
        return {"id": f"a:personal-{person['id']}", "conversationType": "personal", "tenantId": self.tenant_id}

    def channel_thread(self, channel: str, message_id: str = "1699999999999") -> dict[str, Any]:
        return {"id": f"{channel};messageid={message_id}", "conversationType": "channel", "isGroup": True,
                "tenantId": self.tenant_id}

    def channel_data(self, channel: str, channel_name: str = "escalations") -> dict[str, Any]:
        return {"tenant": {"id": self.tenant_id}, "team": {"id": self.team_id, "name": self.team_name},
                "channel": {"id": channel, "name": channel_name}}

    @staticmethod
    def mention(person: dict[str, str]) -> dict[str, Any]:
        return {"type": "mention", "text": f"<at>{person['name']}</at>",
                "mentioned": {"id": person["id"], "name": person["name"]}}

    def message(self, text: str, *, sender: dict[str, str], in_channel: str | None = None,
                mentions: Sequence[dict[str, str]] = (), **fields: Any) -> dict[str, Any]:
        """A chat message; `in_channel`: an @-mention of the bot in that channel. '@{name}' in `text`
        becomes a Teams mention of that person when they are in `mentions`."""
        for person in mentions:
            text = text.replace(f"@{person['name']}", f"<at>{person['name']}</at>")
        people = [self.mention(p) for p in mentions]
        if in_channel is None:
            return self._activity("message", sender=sender, conversation=self.personal_chat(sender), text=text,
                                  **fields)
        bot = self.mention({"id": f"28:{self.bot_id}", "name": self.bot_name})
        return self._activity("message", sender=sender, conversation=self.channel_thread(in_channel),
                              channel_data=self.channel_data(in_channel), text=f"<at>{self.bot_name}</at> {text}",
                              entities=[bot, *people], **fields)

    def invoke(self, name: str, value: dict[str, Any], *, sender: dict[str, str],
               conversation: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return self._activity("invoke", sender=sender, conversation=conversation or self.personal_chat(sender),
                              name=name, value=value, **fields)

    def card_action(self, verb: str, data: dict[str, Any], *, sender: dict[str, str], conversation_id: str,
                    channel: str, message_id: str | None = None) -> dict[str, Any]:
        """A press of an Action.Execute button on a card in a channel thread (Universal Actions).
        `message_id`: the activity id of the message holding the card, which Teams sends as `replyToId`
        (the id a bot uses to update that message,
        https://learn.microsoft.com/microsoftteams/platform/bots/how-to/update-and-delete-bot-messages)."""
        value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
        conversation = {"id": conversation_id, "conversationType": "channel", "isGroup": True,
                        "tenantId": self.tenant_id}
        fields = {"replyToId": message_id} if message_id else {}
        return self.invoke("adaptiveCard/action", value, sender=sender, conversation=conversation,
                           channelData=self.channel_data(channel), **fields)


@dataclass
class Answer:
    status: int
    body: Any
    elapsed_s: float


class TeamsSender:
    """Posts activities into a bot's /api/messages the way the Bot Connector (or the playground) does."""

    def __init__(self, bot_url: str, session: aiohttp.ClientSession) -> None:
        self.url = bot_url.rstrip("/") + "/api/messages"
        self.session = session

    async def send(self, activity: dict[str, Any], *, token: str | None = None) -> Answer:
        """`token`: the bearer token to send; None sends no Authorization header (the playground's way)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        started = time.perf_counter()
        async with self.session.post(self.url, json=activity, headers=headers) as response:
            body = await response.json(content_type=None) if response.content_length != 0 else None
            return Answer(response.status, body, time.perf_counter() - started)
