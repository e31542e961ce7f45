"""The Teams CardDelivery port: proactive messages through the Agents SDK's adapter and connector.

Runs only inside jobs (never in an invoke's answer path), so waiting for a rate-limit slot is fine here;
anything longer becomes RetryLater and the worker reschedules the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    Mention,
)
from microsoft_agents.hosting.core import AuthenticationConstants, ChannelServiceAdapter, TurnContext
from microsoft_agents.hosting.core.connector import ConnectorClientBase

from cards import messages, reminder_messages
from cards import teams as cards
from cards import teams_messages
from cards.teams_messages import TeamsText
from cards.view import build_card_view
from core.budget import Pace
from core.delivery import ContactEmail, PostedCard, Reply
from core import telemetry
from core.telemetry import NoTelemetry, Telemetry
from core.errors import PermanentFailure, RateLimited, RetryLater
from core.models import HandoffState, Person
from db.tables import utcnow

log = logging.getLogger("handoff.teams.delivery")

CHANNEL = "msteams"
RETRYABLE = {429, 412, 502, 504}  # throttled, update conflict, gateway trouble: try again later
HOPELESS = {400, 401, 403, 404}
CALLS_PER_SECOND = 7  # the connector's per-conversation budget
# Posts across replicas (core pacing): at most 7 in any second per conversation: 4 back to back, then one
# per 1/3 s (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit). The longer
# windows there (8 per 2 s, 60 per 30 s) are met by honouring the connector's 429, which pushes the
# conversation's next slot back for every replica.
TEAMS_PACE = Pace(interval_s=1 / 3, burst=4)
CALL_TIMEOUT_S = 15.0
WINDOW_S = 1.05  # a little over a second, for clock and scheduling slack
MAX_SLOT_WAIT_S = 2.0


class ConversationBusy(Exception):
    pass


class ConversationRateLimit:
    """At most `rate` calls per WINDOW_S per conversation, counted from when each call *finished*.

    A call's answer comes after the connector received it, so a new call that starts at least one
    window after the `rate`-th previous one finished cannot reach the connector inside that window,
    however late the event loop got to send the earlier ones.
    """

    def __init__(self, rate: int = CALLS_PER_SECOND, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._finished: dict[str, deque[asyncio.Future]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def slot(self, key: str, *, max_wait_s: float = MAX_SLOT_WAIT_S) -> AsyncIterator[None]:
        """Hold a call slot; raises ConversationBusy rather than wait past `max_wait_s`."""
        try:
            async with asyncio.timeout(max_wait_s):
                mark = await self._admit(key)
        except TimeoutError:
            raise ConversationBusy(key) from None
        try:
            yield
        finally:
            mark.set_result(self.clock())

    async def _admit(self, key: str) -> asyncio.Future:
        async with self._locks.setdefault(key, asyncio.Lock()):  # admissions to one conversation in order
            marks = self._finished.setdefault(key, deque())
            while len(marks) >= self.rate:
                finished_at = await asyncio.shield(marks[0])
                wait = finished_at + WINDOW_S - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                marks.popleft()
            mark = asyncio.get_running_loop().create_future()
            marks.append(mark)
            return mark


def _retry_after(headers: Any) -> float | None:
    try:
        seconds = float((headers or {}).get("Retry-After", ""))
    except ValueError:
        return None
    return seconds + random.uniform(0, 0.25 * seconds + 0.05)  # jitter so retries don't line up


class TeamsDelivery:
    platform = "teams"

    def __init__(
        self,
        adapter: ChannelServiceAdapter,
        *,
        app_id: str,
        limiter: ConversationRateLimit | None = None,
        clock: Callable[[], datetime] = utcnow,
        timeout_s: float = CALL_TIMEOUT_S,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.telemetry: Telemetry = telemetry or NoTelemetry()
        self.adapter = adapter
        self.app_id = app_id
        self.limiter = limiter or ConversationRateLimit()
        self.clock = clock
        self.timeout_s = timeout_s
        self.pace = TEAMS_PACE

    # --- the port ---------------------------------------------------------------------------

    async def post_card(self, state: HandoffState, *, maybe_posted: bool) -> PostedCard:
        # The connector cannot be searched for an earlier post, so a retry after a crash between
        # posting and recording may post twice; everything after this is keyed by what we record.
        reference = state.workspace.conversation_ref or {}
        service_url = reference.get("serviceUrl")
        channel = state.card.channel if state.card else state.workspace.escalation_channel
        if not service_url or not channel:
            raise PermanentFailure("the Teams escalation channel has no service URL; set it again from Teams")
        tenant = state.workspace.external_id
        parameters = ConversationParameters(
            is_group=True,
            bot=ChannelAccount(id=self.app_id),
            channel_data={"channel": {"id": channel}, "tenant": {"id": tenant}},
            tenant_id=tenant,
            activity=self._card_activity(state),
        )
        created: list[Activity] = []

        async def remember(context: TurnContext) -> None:
            created.append(context.activity)

        await self._call(channel, lambda: self.adapter.create_conversation(
            self.app_id, CHANNEL, service_url, AuthenticationConstants.AGENTS_SDK_SCOPE, parameters, remember
        ), method="create_conversation")
        activity = created[0]
        return PostedCard(message_ref=activity.id, conversation_ref=activity.conversation.id, service_url=service_url)

    async def edit_card(self, state: HandoffState) -> None:
        update = self._card_activity(state)
        update.id = state.card.message_ref

        async def send(context: TurnContext) -> None:
            await context.update_activity(update)

        await self._in_card_thread(state, send)

    async def reply_in_thread(self, state: HandoffState, reply: Reply, *, maybe_posted: bool) -> None:
        # The connector cannot be searched for an earlier try's reply: a retry after a try that may
        # have posted can post it again (the residual risk the README records). Keep that window small:
        # one call, a short timeout, nothing between the connector's answer and the job's completion.
        activity = self._activity_of(self._thread_message(state, reply))

        async def send(context: TurnContext) -> None:
            await context.send_activity(activity)

        await self._in_card_thread(state, send)

    async def notify(self, state: HandoffState, reply: Reply, *, maybe_posted: bool) -> None:
        """A 1:1 chat with the named senior; where Teams will not open one, a mention in the thread.
        The author already heard "posted" in the dialog's answer, so `author_posted` sends nothing here."""
        if reply.kind == "author_posted":
            return
        reference = state.workspace.conversation_ref or {}
        service_url = (state.card.service_url if state.card else None) or reference.get("serviceUrl")
        if reply.kind in reminder_messages.DIRECT_KINDS:
            message = reminder_messages.reminder_message(state, reply.kind, reply.detail, now=self.clock())
        else:
            message = messages.target_notice(state, now=self.clock())
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=self.app_id),
            members=[ChannelAccount(id=reply.person.address)],
            tenant_id=state.workspace.external_id,
            channel_data={"tenant": {"id": state.workspace.external_id}},
            activity=self._activity_of(message, mentions=False),
        )

        async def nothing(context: TurnContext) -> None:
            return None

        try:
            await self._call(f"dm:{reply.person.address}", lambda: self.adapter.create_conversation(
                self.app_id, CHANNEL, service_url, AuthenticationConstants.AGENTS_SDK_SCOPE, parameters, nothing
            ), method="create_conversation")
        except PermanentFailure:
            if reply.kind != "notify_target":
                raise  # a reminder's direct message has no public stand-in: the job records why it failed
            await self.reply_in_thread(state, reply, maybe_posted=maybe_posted)

    async def shown_name(self, state: HandoffState, person: Person) -> str:
        """Teams sends the sender's display name with every activity (`from.name`); the stored one is it."""
        return person.display_name

    async def contact_email(self, state: HandoffState, person: Person) -> ContactEmail:
        """GET /v3/conversations/{conversationId}/members/{userId} in the escalation channel: a
        TeamsChannelAccount with `email` and `userPrincipalName`
        (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/get-teams-context). No
        address when the person left the team (404) or Teams gives none."""
        reference = state.workspace.conversation_ref or {}
        service_url = (state.card.service_url if state.card else None) or reference.get("serviceUrl")
        conversation = state.workspace.escalation_channel or (state.card.channel if state.card else None)
        if not service_url or not conversation:
            return ContactEmail(None)
        found: list[Any] = []

        async def look_up(context: TurnContext) -> None:
            client = context.services.get(ConnectorClientBase)
            found.append(await client.conversations.get_conversation_member(conversation, person.address))

        continuation = ConversationReference(
            channel_id=CHANNEL, service_url=service_url, bot=ChannelAccount(id=self.app_id),
            conversation=ConversationAccount(id=conversation, tenant_id=state.workspace.external_id),
        ).get_continuation_activity()
        try:
            await self._call(conversation, lambda: self.adapter.continue_conversation(self.app_id, continuation, look_up),
                             method="get_conversation_member")
        except PermanentFailure as error:
            if "answered 404" in str(error):
                return ContactEmail(None)
            raise
        extra = (found[0].model_extra or {}) if found else {}
        for key in ("email", "userPrincipalName"):
            value = str(extra.get(key) or "")
            if "@" in value:
                return ContactEmail(value)
        return ContactEmail(None)

    # --- helpers ------------------------------------------------------------------------------

    def _card_activity(self, state: HandoffState) -> Activity:
        view = build_card_view(state, now=self.clock())
        card = cards.escalation_card(view)
        return Activity(
            type=ActivityTypes.message,
            summary=view.title,
            attachments=[Attachment(content_type=cards.CARD_CONTENT_TYPE, content=card)],
        )

    def _thread_message(self, state: HandoffState, reply: Reply) -> messages.Message:
        now = self.clock()
        if reply.kind == "conflict":
            winner = reply.winner or state.claimed_by
            if winner is None:
                raise PermanentFailure("conflict reply without a winner")
            return messages.conflict_record(loser=reply.person, winner=winner, claimed_at=reply.claimed_at, now=now)
        if reply.kind == "claimed":
            return messages.checklist(state, owner=reply.person, now=now, first_reply_counts=False)
        if reply.kind == "notify_target":
            return messages.target_in_thread(state, target=reply.person)
        if reply.kind in reminder_messages.THREAD_KINDS:
            return reminder_messages.reminder_message(state, reply.kind, reply.detail, now=now)
        raise PermanentFailure(f"unknown thread reply {reply.kind!r}")

    @classmethod
    def _activity_of(cls, message: messages.Message, *, mentions: bool = True) -> Activity:
        """A message as Teams shows it: chat text, or, when it carries buttons, an Adaptive Card (text has none)."""
        if not message.buttons:
            return cls._message_activity(teams_messages.chat(message, mentions=mentions))
        card = teams_messages.card(message, mentions=mentions)
        return Activity(type=ActivityTypes.message, summary=teams_messages.summary(message),
                        attachments=[Attachment(content_type=cards.CARD_CONTENT_TYPE, content=card)])

    @staticmethod
    def _message_activity(said: TeamsText) -> Activity:
        entities = [Mention(mentioned=ChannelAccount(id=person.external_id, name=person.name), text=tag)
                    for person, tag in said.mentions]
        return Activity(type=ActivityTypes.message, text=said.text, entities=entities or None)

    async def _in_card_thread(self, state: HandoffState, send: Callable[[TurnContext], Awaitable[None]]) -> None:
        card = state.card
        if card is None or not card.message_ref or not card.conversation_ref or not card.service_url:
            raise RetryLater("card not posted yet", delay_s=1.0, attempt_used=False)
        await self._in_thread_of(state, PostedCard(card.message_ref, card.conversation_ref, card.service_url), send)

    async def _in_thread_of(self, state: HandoffState, posted: PostedCard,
                            send: Callable[[TurnContext], Awaitable[None]]) -> None:
        reference = ConversationReference(
            channel_id=CHANNEL,
            service_url=posted.service_url,
            conversation=ConversationAccount(id=posted.conversation_ref, tenant_id=state.workspace.external_id),
            bot=ChannelAccount(id=self.app_id),
            activity_id=posted.message_ref,
        )
        continuation = reference.get_continuation_activity()
        continuation.id = posted.message_ref  # so replies thread under the card
        await self._call(posted.conversation_ref,
                         lambda: self.adapter.continue_conversation(self.app_id, continuation, send),
                         method="continue_conversation")

    async def retire_duplicate(self, state: HandoffState, duplicate: PostedCard) -> None:
        """Replace a second copy of the card with a "duplicate of …" line: no card, so no live Pick Up."""
        if not duplicate.conversation_ref or not duplicate.service_url:
            raise PermanentFailure("the duplicate card's conversation was not recorded")
        said = teams_messages.chat(messages.duplicate_card(state, now=self.clock(), permalink=None), mentions=False)
        update = self._message_activity(said)
        update.id = duplicate.message_ref

        async def send(context: TurnContext) -> None:
            await context.update_activity(update)

        await self._in_thread_of(state, duplicate, send)

    async def _call(self, conversation: str, call: Callable[[], Awaitable[Any]], *, method: str) -> None:
        """One connector call, in this process's slot for the conversation, bounded by `timeout_s`;
        counted by `method` and outcome (ok, rate_limited, error) for /metrics (a call our own limiter
        held back was never sent, so it is not counted)."""
        outcome = None  # not sent yet
        try:
            async with self.limiter.slot(conversation):
                outcome = "error"
                async with asyncio.timeout(self.timeout_s):
                    await call()
                outcome = "ok"
        except ConversationBusy:
            raise RetryLater(f"conversation {conversation} is at {self.limiter.rate} calls/s", delay_s=1.0,
                             attempt_used=False) from None
        except TimeoutError:
            raise RetryLater(f"connector did not answer within {self.timeout_s:g}s") from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            raise RetryLater(f"connector connection failed: {error.__class__.__name__}: {error}") from error
        except aiohttp.ClientResponseError as error:
            if error.status == 429:
                outcome = "rate_limited"
                raise RateLimited("connector answered 429", delay_s=_retry_after(error.headers) or 1.0) from error
            if error.status in RETRYABLE:
                raise RetryLater(f"connector answered {error.status}", delay_s=_retry_after(error.headers)) from error
            if error.status in HOPELESS:
                raise PermanentFailure(f"connector answered {error.status}: {error.message}") from error
            raise
        finally:
            if outcome is not None:
                self.telemetry.count(telemetry.PLATFORM_CALLS, platform="teams", method=method, outcome=outcome)
