"""The Slack delivery port: every chat message the bot sends goes through here.

- One Web API client per workspace, with slack_sdk's rate-limit retry handler for short waits;
  a longer Retry-After becomes RetryLater, so the worker reschedules instead of sleeping.
- At most one post per second per channel (Slack's chat.postMessage limit), per process.
- A card post carries message metadata with the handoff id, so a retry after a post that may
  have landed looks for that message first instead of posting a second card.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.installations import Installation, Installations
from cards import messages, reminder_messages
from cards import slack as render
from cards import slack_messages
from cards.messages import Message
from cards.view import PersonView, build_card_view, person_view
from core.delivery import PostedCard, Reply
from core.errors import PermanentFailure, RetryLater
from core.models import HandoffState, Person

log = logging.getLogger("handoff.slack")

CARD_EVENT_TYPE = "handoff_card"
# Slack errors that no retry can fix; anything else is retried with backoff.
PERMANENT_ERRORS = {
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
    "token_revoked", "no_permission", "missing_scope", "invalid_blocks", "msg_too_long", "message_not_found",
}


class ShortRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Retry a 429 in place only when Slack asks for a short wait; longer ones go back to the worker."""

    def __init__(self, *, max_wait_s: float) -> None:
        super().__init__(max_retry_count=1)
        self.max_wait_s = max_wait_s

    async def _can_retry_async(self, *, state, request, response=None, error=None) -> bool:
        if response is None or response.status_code != 429:
            return False
        return retry_after(response.headers) <= self.max_wait_s


def retry_after(headers: dict[str, Any]) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                break
    return 1.0


class ChannelPacer:
    """At most one post per `interval_s` per channel. A post that would wait is rescheduled, not slept."""

    def __init__(self, interval_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._next: dict[str, float] = {}

    def take_turn(self, channel: str) -> None:
        now = self.clock()
        due = self._next.get(channel, 0.0)
        if due > now:
            raise RetryLater(f"pacing posts to {channel}", delay_s=due - now, attempt_used=False)
        self._next[channel] = now + self.interval_s


def as_job_error(error: Exception, what: str) -> Exception:
    """A failed Web API call, as the worker understands it."""
    if isinstance(error, SlackApiError):
        code = error.response.get("error", "") if error.response is not None else ""
        if error.response is not None and error.response.status_code == 429:
            return RetryLater(f"{what}: rate limited", delay_s=retry_after(error.response.headers))
        if code in PERMANENT_ERRORS:
            hint = " (invite the bot to the channel)" if code == "not_in_channel" else ""
            return PermanentFailure(f"{what}: {code}{hint}")
        return RetryLater(f"{what}: {code or error}")
    return RetryLater(f"{what}: {error.__class__.__name__}: {error}")


class SlackDelivery:
    platform = "slack"

    def __init__(
        self,
        *,
        installations: Installations,
        api_url: str,
        clock: Callable[[], datetime],
        post_interval_s: float = 1.0,
        max_inline_wait_s: float = 1.0,
    ) -> None:
        self.installations = installations
        self.api_url = api_url
        self.clock = clock
        self.pacer = ChannelPacer(post_interval_s)
        self.max_inline_wait_s = max_inline_wait_s
        self._clients: dict[str, AsyncWebClient] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def client(self, team_id: str) -> AsyncWebClient:
        installation = await self.installations.find(team_id)
        if installation is None:
            raise PermanentFailure(f"no Slack installation for workspace {team_id}")
        return self._client_for(installation)

    def _client_for(self, installation: Installation) -> AsyncWebClient:
        client = self._clients.get(installation.bot_token)
        if client is None:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            client = AsyncWebClient(
                token=installation.bot_token,
                base_url=self.api_url,
                session=self._session,
                timeout=15,
                retry_handlers=[AsyncConnectionErrorRetryHandler(), ShortRateLimitRetry(max_wait_s=self.max_inline_wait_s)],
            )
            self._clients[installation.bot_token] = client
        return client

    async def call(self, team_id: str, method: str, *, paced_channel: str | None = None, **args: Any) -> Any:
        """Make one Web API call for a workspace; failures come back as RetryLater / PermanentFailure."""
        client = await self.client(team_id)
        if paced_channel is not None:
            self.pacer.take_turn(paced_channel)
        # The SDK's own method, so each call is encoded the way Slack accepts it (form or JSON).
        sdk_method = getattr(client, method.replace(".", "_"))
        try:
            return await sdk_method(**args)
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise as_job_error(error, method) from error

    # --- the CardDelivery port ------------------------------------------------------------------

    async def post_card(self, state: HandoffState, *, maybe_posted: bool) -> PostedCard:
        team, channel = state.workspace.external_id, state.card.channel
        if maybe_posted:
            found = await self._find_card(state)
            if found is not None:
                return PostedCard(message_ref=found, shows_current=False)
        message = render.card_message(build_card_view(state, now=self.clock()))
        posted = await self.call(
            team, "chat.postMessage", paced_channel=channel, channel=channel, unfurl_links=False,
            metadata={"event_type": CARD_EVENT_TYPE, "event_payload": {"handoff_id": str(state.id)}},
            **message,
        )
        await self._confirm_to_author(state, posted["ts"])
        return PostedCard(message_ref=posted["ts"])

    async def edit_card(self, state: HandoffState) -> None:
        message = render.card_message(build_card_view(state, now=self.clock()))
        await self.call(state.workspace.external_id, "chat.update", channel=state.card.channel,
                        ts=state.card.message_ref, **message)

    async def reply_in_thread(self, state: HandoffState, reply: Reply) -> None:
        message = await self._thread_message(state, reply)
        channel = state.card.channel
        await self.call(state.workspace.external_id, "chat.postMessage", paced_channel=channel,
                        channel=channel, thread_ts=state.card.message_ref, unfurl_links=False,
                        **slack_messages.render(message))

    async def notify(self, state: HandoffState, reply: Reply) -> None:
        """DM the senior the author named, with a link to the card once it is posted."""
        if state.card is None or state.card.message_ref is None:
            raise RetryLater("card not posted yet", delay_s=1.0, attempt_used=False)
        team = state.workspace.external_id
        link = await self.permalink(team, state.card.channel, state.card.message_ref)
        if reply.kind in reminder_messages.DIRECT_KINDS:
            message = reminder_messages.reminder_message(state, reply.kind, reply.detail, now=self.clock(), permalink=link)
        else:
            message = messages.target_notice(state, now=self.clock(), permalink=link)
        user = reply.person.external_id
        await self.call(team, "chat.postMessage", paced_channel=user, channel=user, **slack_messages.render(message))

    # --- helpers ------------------------------------------------------------------------------

    async def tell(self, team_id: str, *, user: str, message: Message, channel: str | None = None,
                   response_url: str | None = None) -> None:
        """A message only `user` sees: through the action's response_url when there is one (no Web API
        call, no channel pacing), else ephemeral in the channel they acted in, else a DM."""
        shown = slack_messages.render(message)
        if response_url and await self.respond(response_url, shown):
            return
        if channel is not None and not channel.startswith("D"):
            try:
                await self.call(team_id, "chat.postEphemeral", channel=channel, user=user, **shown)
                return
            except PermanentFailure:
                pass  # the bot is not in that channel: fall back to a DM
        await self.call(team_id, "chat.postMessage", channel=user, **shown)

    async def respond(self, response_url: str, shown: dict[str, Any]) -> bool:
        """Post an ephemeral message to an interaction's response_url. False if Slack did not take it."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        body = {"response_type": "ephemeral", "replace_original": False, **shown}
        try:
            async with self._session.post(response_url, json=body, timeout=aiohttp.ClientTimeout(total=5)) as answer:
                if answer.status == 200:
                    return True
                log.warning("response_url answered %s: %s", answer.status, (await answer.text())[:200])
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            log.warning("response_url failed: %s", error.__class__.__name__)
        return False

    async def permalink(self, team_id: str, channel: str, ts: str) -> str | None:
        try:
            answer = await self.call(team_id, "chat.getPermalink", channel=channel, message_ts=ts)
        except (RetryLater, PermanentFailure) as error:
            log.warning("no permalink for %s/%s: %s", channel, ts, error)
            return None
        return answer.get("permalink")

    async def _find_card(self, state: HandoffState) -> str | None:
        """A card an earlier try may have posted: look for our metadata in the channel's recent history."""
        since = (state.escalated_at or state.created_at) - timedelta(minutes=5)
        history = await self.call(state.workspace.external_id, "conversations.history", channel=state.card.channel,
                                  oldest=f"{since.timestamp():.6f}", limit=200, include_all_metadata=True)
        for message in history.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == CARD_EVENT_TYPE and \
                    (metadata.get("event_payload") or {}).get("handoff_id") == str(state.id):
                return message["ts"]
        return None

    async def _confirm_to_author(self, state: HandoffState, ts: str) -> None:
        """The author's link to their card. Best effort: the card itself is already posted."""
        team = state.workspace.external_id
        try:
            link = await self.permalink(team, state.card.channel, ts)
            message = messages.author_posted(state, now=self.clock(), permalink=link)
            await self.call(team, "chat.postMessage", channel=state.author.external_id, **slack_messages.render(message))
        except (RetryLater, PermanentFailure) as error:
            log.warning("could not confirm handoff %s to its author: %s", state.id, error)

    async def person_view(self, team_id: str, person: Person) -> PersonView:
        """The name Slack shows for someone (users.info, cached); the stored name if that fails."""
        view = person_view(person)
        key = (team_id, person.external_id)
        if key not in self._names:
            try:
                user = (await self.call(team_id, "users.info", user=person.external_id))["user"]
                profile = user.get("profile") or {}
                self._names[key] = profile.get("display_name") or profile.get("real_name") or view.name
            except (RetryLater, PermanentFailure):
                return view
        return person_view(replace(person, display_name=self._names[key]))

    async def _thread_message(self, state: HandoffState, reply: Reply) -> Message:
        team, now = state.workspace.external_id, self.clock()
        if reply.kind == "conflict":
            winner = reply.winner or state.claimed_by
            if winner is None:
                raise PermanentFailure("conflict reply without a winner")
            return messages.conflict_record(loser=await self.person_view(team, reply.person),
                                            winner=await self.person_view(team, winner),
                                            claimed_at=reply.claimed_at, now=now)
        if reply.kind == "claimed":
            return messages.checklist(state, owner=person_view(reply.person), now=now,
                                      author=await self.person_view(team, state.author))
        if reply.kind in reminder_messages.THREAD_KINDS:
            return reminder_messages.reminder_message(state, reply.kind, reply.detail, now=now)
        raise PermanentFailure(f"unknown thread reply {reply.kind!r}")
