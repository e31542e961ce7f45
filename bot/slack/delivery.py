"""The Slack delivery port: every chat message the bot sends goes through here.

- One retry path, the job's. slack_sdk retries in place only a short 429 on a call that posts
  nothing (a look-up); a post's 429 goes back to the core, which pushes the channel's slot back for
  every replica. No connection-error retry in place: a reset may come after Slack recorded the post.
- Every post carries message metadata {handoff_id, key} (https://docs.slack.dev/messaging/message-metadata/),
  so a retry after a try that may have posted looks for it first: the card in the channel's
  history, a thread reply in conversations.replies, a DM in the IM's history.
- A real timeout on every call: slack_sdk applies `timeout=` only to sessions it creates itself, so
  the session we hand it carries its own ClientTimeout.
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
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.installations import Installation, Installations
from bot.slack.names import NAME_TTL_S, ShownNames
from cards import messages, reminder_messages
from cards import slack as render
from cards import slack_messages
from cards.messages import Message
from cards.view import PersonView, build_card_view, person_view
from core.budget import Pace
from core.delivery import ContactEmail, PostedCard, Reply
from core import telemetry
from core.telemetry import NoTelemetry, Telemetry
from core.errors import PermanentFailure, RateLimited, RetryLater
from core.models import HandoffState, Person

log = logging.getLogger("handoff.slack")

CARD_EVENT_TYPE = "handoff_card"
CARD_KEY = "card"
POSTS = ("chat.postMessage",)  # calls whose 429 is a channel's post budget, never retried in place
# Slack errors that no retry can fix; anything else is retried with backoff.
PERMANENT_ERRORS = {
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
    "token_revoked", "no_permission", "missing_scope", "invalid_blocks", "msg_too_long", "message_not_found",
}
# chat.postMessage: about one message per second per channel, short bursts allowed
# (https://docs.slack.dev/apis/web-api/rate-limits/#each-method).
SLACK_PACE = Pace(interval_s=1.0, burst=3)
# users.info answers profile.email only to a token with this scope (https://api.slack.com/methods/users.info,
# https://api.slack.com/scopes/users:read.email).
EMAIL_SCOPE = "users:read.email"
LOOKBACK = timedelta(minutes=5)  # how far before the handoff a look-up for an earlier try's post reaches


class ShortRateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """Retry a look-up's 429 in place when Slack asks for a short wait; a post's, and longer waits, go back to the job."""

    def __init__(self, *, max_wait_s: float, on_429: Callable[[str, str], None] | None = None) -> None:
        super().__init__(max_retry_count=1)
        self.max_wait_s = max_wait_s
        self.on_429 = on_429  # counts each 429, including the ones retried here that the caller never sees

    async def _can_retry_async(self, *, state, request, response=None, error=None) -> bool:
        if response is None or response.status_code != 429:
            return False
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        retried = method not in POSTS and retry_after(response.headers) <= self.max_wait_s
        if retried and self.on_429 is not None:  # a 429 not retried here reaches call(), which counts it
            self.on_429(method, "rate_limited")
        return retried


def retry_after(headers: dict[str, Any]) -> float:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                break
    return 1.0


def _header(headers: Any, name: str) -> str | None:
    """A response header by name, whatever case the server sent it in."""
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else str(value)
    return None


def as_job_error(error: Exception, what: str) -> Exception:
    """A failed Web API call, as the worker understands it."""
    if isinstance(error, SlackApiError):
        code = error.response.get("error", "") if error.response is not None else ""
        if error.response is not None and error.response.status_code == 429:
            wait = retry_after(error.response.headers)
            if what in POSTS:
                return RateLimited(f"{what}: rate limited", delay_s=wait)
            return RetryLater(f"{what}: rate limited", delay_s=wait, attempt_used=False)
        if code in PERMANENT_ERRORS:
            hint = " (invite the bot to the channel)" if code == "not_in_channel" else ""
            return PermanentFailure(f"{what}: {code}{hint}")
        return RetryLater(f"{what}: {code or error}")
    return RetryLater(f"{what}: {error.__class__.__name__}: {error}")


def metadata(state: HandoffState, *, event_type: str, key: str) -> dict[str, Any]:
    """What every post carries, so a retry can recognise it."""
    return {"event_type": event_type, "event_payload": {"handoff_id": str(state.id), "key": key}}


def carries(message: dict[str, Any], state: HandoffState, key: str) -> bool:
    payload = (message.get("metadata") or {}).get("event_payload") or {}
    # Cards posted before keys existed carry only the handoff id.
    return payload.get("handoff_id") == str(state.id) and payload.get("key", CARD_KEY) == key


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
        timeout_s: float = 15.0,
        telemetry: Telemetry | None = None,
        name_ttl_s: float = NAME_TTL_S,
        name_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.installations = installations
        self.telemetry: Telemetry = telemetry or NoTelemetry()
        self.api_url = api_url
        self.clock = clock
        self.pace = Pace(interval_s=post_interval_s, burst=SLACK_PACE.burst)
        self.max_inline_wait_s = max_inline_wait_s
        self.timeout_s = timeout_s
        self._clients: dict[str, AsyncWebClient] = {}
        # The names Slack shows, kept name_ttl_s (bot/slack/names.py); name_clock: monotonic seconds.
        self.names = ShownNames(self._shown_name, ttl_s=name_ttl_s, clock=name_clock)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        """The one HTTP session (Web API and response_url calls)."""
        if self._session is None:
            # slack_sdk ignores its own `timeout=` on a session handed to it: the session carries it.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self._session

    async def client(self, team_id: str) -> AsyncWebClient:
        installation = await self.installations.find(team_id)
        if installation is None:
            raise PermanentFailure(f"no Slack installation for workspace {team_id}")
        return self._client_for(installation)

    def _client_for(self, installation: Installation) -> AsyncWebClient:
        client = self._clients.get(installation.bot_token)
        if client is None:
            client = AsyncWebClient(
                token=installation.bot_token,
                base_url=self.api_url,
                session=self._http(),
                timeout=int(self.timeout_s),
                retry_handlers=[ShortRateLimitRetry(max_wait_s=self.max_inline_wait_s, on_429=self._count)],
            )
            self._clients[installation.bot_token] = client
        return client

    async def call(self, team_id: str, method: str, **args: Any) -> Any:
        """Make one Web API call for a workspace; failures come back as RetryLater / PermanentFailure."""
        client = await self.client(team_id)
        # The SDK's own method, so each call is encoded the way Slack accepts it (form or JSON).
        sdk_method = getattr(client, method.replace(".", "_"))
        try:
            answer = await sdk_method(**args)
        except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as error:
            limited = isinstance(error, SlackApiError) and error.response is not None and error.response.status_code == 429
            self._count(method, "rate_limited" if limited else "error")
            raise as_job_error(error, method) from error
        self._count(method, "ok")
        return answer

    def _count(self, method: str, outcome: str) -> None:
        self.telemetry.count(telemetry.PLATFORM_CALLS, platform="slack", method=method, outcome=outcome)

    # --- the CardDelivery port ------------------------------------------------------------------

    async def post_card(self, state: HandoffState, *, maybe_posted: bool) -> PostedCard:
        team, channel = state.workspace.external_id, state.card.channel
        if maybe_posted:
            found = await self._find_card(state)
            if found is not None:
                return PostedCard(message_ref=found, shows_current=False)
        message = render.card_message(build_card_view(state, now=self.clock()))
        posted = await self.call(
            team, "chat.postMessage", channel=channel, unfurl_links=False,
            metadata=metadata(state, event_type=CARD_EVENT_TYPE, key=CARD_KEY), **message,
        )
        return PostedCard(message_ref=posted["ts"])

    async def edit_card(self, state: HandoffState) -> None:
        message = render.card_message(build_card_view(state, now=self.clock()))
        await self.call(state.workspace.external_id, "chat.update", channel=state.card.channel,
                        ts=state.card.message_ref, **message)

    async def reply_in_thread(self, state: HandoffState, reply: Reply, *, maybe_posted: bool) -> None:
        team, channel, thread = state.workspace.external_id, state.card.channel, state.card.message_ref
        if maybe_posted and await self._in_thread(state, reply.key):
            return
        message = await self._thread_message(state, reply)
        await self.call(team, "chat.postMessage", channel=channel, thread_ts=thread, unfurl_links=False,
                        metadata=metadata(state, event_type=f"handoff_{reply.kind}", key=reply.key),
                        **slack_messages.render(message))

    async def notify(self, state: HandoffState, reply: Reply, *, maybe_posted: bool) -> None:
        """A DM: the senior the author named, the author's link to their posted card, a reminder."""
        team, user, card = state.workspace.external_id, reply.person.external_id, state.card
        if maybe_posted and await self._in_direct_messages(state, user, reply.key):
            return
        posted = card is not None and card.message_ref is not None
        if reply.kind == "author_posted" and not posted:
            return  # the card was never posted: there is nothing to point the author to
        link = await self.permalink(team, card.channel, card.message_ref) if posted else None
        now = self.clock()
        if reply.kind == "author_posted":
            message = messages.author_posted(state, now=now, permalink=link)
        elif reply.kind in reminder_messages.DIRECT_KINDS:
            message = reminder_messages.reminder_message(state, reply.kind, reply.detail, now=now, permalink=link)
        else:
            message = messages.target_notice(state, now=now, permalink=link)
        await self.call(team, "chat.postMessage", channel=user,
                        metadata=metadata(state, event_type=f"handoff_{reply.kind}", key=reply.key),
                        **slack_messages.render(message))

    async def retire_duplicate(self, state: HandoffState, duplicate: PostedCard) -> None:
        """Edit a second copy of the card into "duplicate of …", with no buttons (chat.update, blocks
        replaced by an empty list so the copy's Pick Up goes away)."""
        team, channel = state.workspace.external_id, state.card.channel
        link = await self.permalink(team, channel, state.card.message_ref)
        message = slack_messages.render(messages.duplicate_card(state, now=self.clock(), permalink=link))
        await self.call(team, "chat.update", channel=channel, ts=duplicate.message_ref, **{"blocks": [], **message})

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
        body = {"response_type": "ephemeral", "replace_original": False, **shown}
        try:
            async with self._http().post(response_url, json=body, timeout=aiohttp.ClientTimeout(total=5)) as answer:
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
        """A card an earlier try may have posted: look for its metadata in the channel's recent history."""
        found = await self._find(state, "conversations.history", CARD_KEY, channel=state.card.channel)
        return found["ts"] if found else None

    async def _in_thread(self, state: HandoffState, key: str) -> bool:
        """Did an earlier try post this reply? Look in the card's thread for its key."""
        return await self._find(state, "conversations.replies", key, channel=state.card.channel,
                                ts=state.card.message_ref) is not None

    async def _in_direct_messages(self, state: HandoffState, user: str, key: str) -> bool:
        """Did an earlier try send this DM? Look in the bot's IM with `user` for its key."""
        opened = await self.call(state.workspace.external_id, "conversations.open", users=user)
        return await self._find(state, "conversations.history", key, channel=opened["channel"]["id"]) is not None

    async def _find(self, state: HandoffState, method: str, key: str, **args: Any) -> dict[str, Any] | None:
        """The first message (of a history or thread, newest pages first) carrying this handoff's `key`."""
        since = (state.escalated_at or state.created_at) - LOOKBACK
        cursor = None
        while True:
            page = await self.call(state.workspace.external_id, method, oldest=f"{since.timestamp():.6f}",
                                   limit=200, include_all_metadata=True, cursor=cursor, **args)
            found = next((m for m in page.get("messages", []) if carries(m, state, key)), None)
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if found is not None or not page.get("has_more") or not cursor:
                return found

    async def person_view(self, team_id: str, person: Person) -> PersonView:
        """The name Slack shows for someone (users.info, kept a few minutes; 19 losers asking at once about
        one winner make one call); the stored name if Slack cannot say."""
        name = await self.names.get(team_id, person.external_id)
        return person_view(person if name is None else replace(person, display_name=name))

    async def shown_name(self, state: HandoffState, person: Person) -> str:
        return (await self.person_view(state.workspace.external_id, person)).name

    async def contact_email(self, state: HandoffState, person: Person) -> ContactEmail:
        """users.info's `profile.email`. Slack leaves it out when the token lacks users:read.email, and names
        the token's scopes in every answer's X-OAuth-Scopes header (the node SDK reads it into
        response_metadata.scopes): that tells a missing scope (admins must reinstall) from a person Slack
        has no address for (a bot, say)."""
        try:
            answer = await self.call(state.workspace.external_id, "users.info", user=person.external_id)
        except PermanentFailure as error:
            if "missing_scope" in str(error):
                return ContactEmail(None, missing=EMAIL_SCOPE)
            if "user_not_found" in str(error) or "user_not_visible" in str(error):
                return ContactEmail(None)
            raise
        email = ((answer.get("user") or {}).get("profile") or {}).get("email")
        if email:
            return ContactEmail(str(email))
        scopes = _header(answer.headers, "x-oauth-scopes")
        missing = scopes is not None and EMAIL_SCOPE not in {s.strip() for s in scopes.split(",")}
        return ContactEmail(None, missing=EMAIL_SCOPE if missing else None)

    async def _shown_name(self, team_id: str, user_id: str) -> str | None:
        try:
            user = (await self.call(team_id, "users.info", user=user_id))["user"]
        except (RetryLater, PermanentFailure):
            return None
        profile = user.get("profile") or {}
        return profile.get("display_name") or profile.get("real_name") or None

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
