"""The delivery port each platform adapter implements, and the jobs that drive it.

Card sync converges (DESIGN invariant 1): the card is always rendered from the current row, its
record keeps rendered_version, and while the version moved during an edit we render again.
Jobs on one handoff's card share a dedupe key, so two edits of one card never overlap.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from core import jobs as job_kinds
from core import telemetry
from core.budget import LocalPacer, Pace, PostPacer
from core.errors import PermanentFailure, RateLimited, RetryLater
from core.handoffs import Handoffs
from core.models import HandoffState, Job, Person
from core.worker import JobKind
from db import outbox, store

log = logging.getLogger("handoff.delivery")

MAX_RENDER_ROUNDS = 5
# How long the new owner's checklist waits for an assessment still being written.
CHECKLIST_WAIT = timedelta(seconds=30)
T = TypeVar("T")


@dataclass(frozen=True)
class PostedCard:
    message_ref: str
    conversation_ref: str | None = None
    service_url: str | None = None
    # False when an earlier try's message was found instead of posting: it may show older state.
    shows_current: bool = True


@dataclass(frozen=True)
class Reply:
    """A message about a handoff other than its card: in the card's thread, or a direct message.

    `kind`: conflict | claimed | nudge (thread replies); notify_target | author_posted | nudge_target |
    overdue_admin | first_action (direct messages).
    `key`: unique per handoff for this message; the platform carries it with the message (Slack message
    metadata) so a retry can look for it before posting again.
    """

    kind: str
    key: str
    person: Person  # who it is about or for (the loser, the new owner, the named senior, the author)
    winner: Person | None = None
    claimed_at: datetime | None = None  # a conflict: when the winner claimed it
    detail: Mapping[str, Any] = field(default_factory=dict)  # the job's payload (waited_s, step, key ...)


@dataclass(frozen=True)
class ContactEmail:
    """What a platform says a person's email is. `email` None: it gave none; `missing` then names what the
    installation lacks when that is why (e.g. a Slack scope), so admins can be told; None when the person
    simply has no address the bot may see."""

    email: str | None
    missing: str | None = None


class CardDelivery(Protocol):
    platform: str  # the workspace platform this port serves: "slack", "teams"
    pace: Pace  # how fast one channel may receive posts

    async def post_card(self, state: HandoffState, *, maybe_posted: bool) -> PostedCard:
        """Post a new card. `maybe_posted`: an earlier try may have posted it before dying;
        an adapter that can look for that message should, so a retry never double-posts."""

    async def edit_card(self, state: HandoffState) -> None: ...

    async def reply_in_thread(self, state: HandoffState, reply: Reply, *, maybe_posted: bool) -> None:
        """Post `reply` under the card (the card is posted). `maybe_posted` as for post_card."""

    async def notify(self, state: HandoffState, reply: Reply, *, maybe_posted: bool) -> None:
        """A direct message to `reply.person`. `maybe_posted` as for post_card."""

    async def retire_duplicate(self, state: HandoffState, duplicate: PostedCard) -> None:
        """A second copy of the card was posted: edit it into "duplicate of …" (no live Pick Up)."""

    async def contact_email(self, state: HandoffState, person: Person) -> ContactEmail:
        """The person's email as the platform gives it (for mapping them to a PSA member). A platform
        that cannot answer now raises RetryLater; one that answers without an address returns None."""

    async def shown_name(self, state: HandoffState, person: Person) -> str:
        """The person's name as the platform shows it to people (Slack's display name, not the username a
        click carries); the stored name when the platform cannot say."""


async def copy_seen(handoffs: Handoffs, state: HandoffState, seen: PostedCard) -> bool:
    """Someone acted on a message of this handoff's card that is not its recorded card: a copy posted by
    a try whose answer was lost (where the platform cannot be searched, this is where the copy is found).
    Queue its retirement into "duplicate of …" (once per copy); True when `seen` is such a copy."""
    card = state.card
    if card is None or not card.message_ref or seen.message_ref == card.message_ref:
        return False  # no recorded card yet (this may be it, about to be recorded), or it is the card
    clock = handoffs.clock
    async with handoffs.db.transaction() as conn:
        await outbox.enqueue_all(conn, [job_kinds.card_duplicate(
            state.id, message_ref=seen.message_ref, conversation_ref=seen.conversation_ref,
            service_url=seen.service_url, now=clock())])
        await store.insert_event(
            conn, workspace_id=state.workspace.id, handoff_id=state.id, kind="card_duplicate_found",
            data={"message_ref": seen.message_ref, "live": card.message_ref}, now=clock(),
        )
    return True


class Deliveries:
    """Runs delivery jobs against whichever platform's port the handoff's workspace is on.

    The core decides when: a reply waits for its card, the checklist waits (bounded) for the
    assessment, every post waits for its channel's slot. Waits reschedule without spending a try.
    """

    def __init__(
        self,
        handoffs: Handoffs,
        ports: dict[str, CardDelivery],
        *,
        pacer: PostPacer | None = None,
        checklist_wait: timedelta = CHECKLIST_WAIT,
        wait_s: float = 1.0,
    ) -> None:
        self.handoffs = handoffs
        self.ports = ports
        self.pacer = pacer or LocalPacer()
        self.checklist_wait = checklist_wait
        self.wait_s = wait_s

    def job_kinds(self) -> dict[str, JobKind]:
        return {
            job_kinds.CARD_SYNC: JobKind(self.sync_card, self.card_failed),
            job_kinds.CARD_DUPLICATE: JobKind(self.retire_duplicate),
            job_kinds.THREAD_REPLY: JobKind(self.reply),
            job_kinds.NOTIFY_TARGET: JobKind(self.direct_message),
            job_kinds.AUTHOR_POSTED: JobKind(self.direct_message),
        }

    def _port(self, state: HandoffState) -> CardDelivery:
        port = self.ports.get(state.workspace.platform)
        if port is None:
            raise PermanentFailure(f"no delivery configured for platform {state.workspace.platform!r}")
        return port

    # --- pacing -----------------------------------------------------------------------------

    async def _paced(self, state: HandoffState, target: str, post: Callable[[], Awaitable[T]]) -> T:
        """Run `post` in the next free slot of `target` (a channel, a person's DM), shared by every
        replica on PostgreSQL. No slot yet: reschedule without spending a try. A platform 429
        pushes the slot back for everyone."""
        port = self._port(state)
        key = f"{state.workspace.platform}:{state.workspace.external_id}:{target}"
        wait = await self.pacer.take(key, port.pace)
        if wait > 0:
            raise RetryLater(f"pacing posts to {target}", delay_s=wait, attempt_used=False)
        try:
            return await post()
        except RateLimited as error:
            await self.pacer.push_back(key, port.pace, error.delay_s or self.wait_s)
            raise

    # --- the card ---------------------------------------------------------------------------

    async def sync_card(self, job: Job) -> None:
        for _ in range(MAX_RENDER_ROUNDS):
            state = await self.handoffs.load(job.handoff_id)
            if state is None or state.card is None:
                return
            card = state.card
            if card.message_ref is not None and card.rendered_version >= state.version:
                return
            if card.message_ref is None:
                shown = await self._paced(state, card.channel, lambda: self._post_card(state))
            else:
                await self._edit_card(state)
                shown = True
            if shown:  # from the state change to the card showing it
                self.handoffs.telemetry.observe(
                    telemetry.CARD_LAG, (self.handoffs.clock() - state.updated_at).total_seconds(),
                    platform=state.workspace.platform,
                )
        # Still moving after several rounds: let the next job pick it up rather than spin here.
        raise RetryLater("card kept changing while being rendered", delay_s=0.5)

    async def _post_card(self, state: HandoffState) -> bool:
        """Post the card (or find an earlier try's); True when what is shown is the current state."""
        db, clock, card = self.handoffs.db, self.handoffs.clock, state.card
        maybe_posted = card.state == "posting"  # an earlier try got as far as the platform
        if not maybe_posted:
            async with db.transaction() as conn:
                await store.update_card(conn, card_id=card.id, now=clock(), state="posting")
        try:
            posted = await self._port(state).post_card(state, maybe_posted=maybe_posted)
        except RateLimited:  # refused, so nothing posted (and any look-up found nothing): no look-up next time
            async with db.transaction() as conn:
                await store.update_card(conn, card_id=card.id, now=clock(), state="pending")
            raise
        async with db.transaction() as conn:
            recorded = await store.recorded_message(conn, card_id=card.id)
            if recorded is not None and recorded != posted.message_ref:
                # Another try posted and recorded the card first (a Teams post can't be looked for):
                # ours is a second live copy; a job of its own turns it into "duplicate of …".
                await outbox.enqueue_all(conn, [job_kinds.card_duplicate(
                    state.id, message_ref=posted.message_ref, conversation_ref=posted.conversation_ref,
                    service_url=posted.service_url, now=clock())])
                return False
            values = {
                "message_ref": posted.message_ref,
                "conversation_ref": posted.conversation_ref,
                "service_url": posted.service_url,
                "state": "posted",
                "last_error": None,
            }
            if posted.shows_current:
                await store.record_card_rendered(conn, card_id=card.id, version=state.version, now=clock(), **values)
            else:  # found an earlier try's message: the next round edits it to the current state
                await store.update_card(conn, card_id=card.id, now=clock(), **values)
            await store.insert_event(
                conn, workspace_id=state.workspace.id, handoff_id=state.id, kind="card_posted",
                data={"version": state.version, "message_ref": posted.message_ref}, now=clock(),
            )
            # The author hears where their card is from its own job, retried like any other post.
            await outbox.enqueue_all(conn, [job_kinds.message(
                job_kinds.AUTHOR_POSTED, handoff_id=state.id, reply="author_posted", person_id=state.author.id,
                key="author_posted", now=clock(),
            )])
        return posted.shows_current

    async def _edit_card(self, state: HandoffState) -> None:
        db, clock = self.handoffs.db, self.handoffs.clock
        await self._port(state).edit_card(state)
        async with db.transaction() as conn:
            await store.record_card_rendered(
                conn, card_id=state.card.id, version=state.version, now=clock(), state="posted", last_error=None
            )
            await store.insert_event(
                conn, workspace_id=state.workspace.id, handoff_id=state.id, kind="card_edited",
                data={"version": state.version}, now=clock(),
            )

    async def retire_duplicate(self, job: Job) -> None:
        state = await self.handoffs.load(job.handoff_id)
        ref = job.payload.get("message_ref")
        if state is None or state.card is None or not isinstance(ref, str):
            raise PermanentFailure(f"duplicate card job without a handoff or message: {job.payload!r}"[:300])
        duplicate = PostedCard(message_ref=ref, conversation_ref=job.payload.get("conversation_ref"),
                               service_url=job.payload.get("service_url"))
        await self._port(state).retire_duplicate(state, duplicate)
        async with self.handoffs.db.transaction() as conn:
            await store.insert_event(
                conn, workspace_id=state.workspace.id, handoff_id=state.id, kind="card_duplicate_retired",
                data={"message_ref": ref, "live": state.card.message_ref}, now=self.handoffs.clock(),
            )

    async def card_failed(self, job: Job, error: str) -> None:
        state = await self.handoffs.load(job.handoff_id)
        if state is None or state.card is None:
            return
        async with self.handoffs.db.transaction() as conn:
            await store.update_card(conn, card_id=state.card.id, now=self.handoffs.clock(), state="failed", last_error=error)
            await store.insert_event(
                conn, workspace_id=state.workspace.id, handoff_id=state.id, kind="delivery_failed",
                data={"error": error}, now=self.handoffs.clock(),
            )

    # --- replies and direct messages --------------------------------------------------------

    async def _parts(self, job: Job) -> tuple[HandoffState, Reply] | None:
        """The handoff and the message a reply/DM job is about; None when either is gone."""
        payload = job.payload
        person_id, winner_id = payload.get("person_id"), payload.get("winner_id")
        if not isinstance(person_id, int) or not isinstance(winner_id, (int, type(None))):
            raise PermanentFailure(f"job payload does not name a person: {payload!r}"[:300])
        kind = payload.get("reply") or ("author_posted" if job.kind == job_kinds.AUTHOR_POSTED else "notify_target")
        state = await self.handoffs.load(job.handoff_id)
        person = await self.handoffs.person(person_id)
        if state is None or person is None:
            return None
        winner = await self.handoffs.person(winner_id) if winner_id is not None else None
        claimed_at = _when(payload.get("claimed_at"))
        if claimed_at is None and winner is not None and state.claimed_by is not None and state.claimed_by.id == winner.id:
            claimed_at = state.claimed_at
        key = str(payload.get("key") or f"{kind}:{person_id}")  # jobs queued before keys existed
        return state, Reply(kind=kind, key=key, person=person, winner=winner, claimed_at=claimed_at, detail=payload)

    def _card_wait(self, state: HandoffState) -> None:
        """Raise RetryLater (no try spent) while the card is still on its way; PermanentFailure if it never will be."""
        card = state.card
        if card is None:
            raise PermanentFailure("this handoff has no card to reply under")
        if card.message_ref is None:
            if card.state == "failed":
                raise PermanentFailure("the card was never posted")
            raise RetryLater("card not posted yet", delay_s=self.wait_s, attempt_used=False)

    async def reply(self, job: Job) -> None:
        parts = await self._parts(job)
        if parts is None:
            return
        state, reply = parts
        self._card_wait(state)
        if reply.kind == "claimed" and self._assessment_coming(state):
            raise RetryLater("the checklist waits for the assessment", delay_s=2 * self.wait_s, attempt_used=False)
        port = self._port(state)
        await self._paced(state, state.card.channel, lambda: port.reply_in_thread(
            state, reply, maybe_posted=job.attempts > 1  # an earlier try (not a wait) may have posted it
        ))

    def _assessment_coming(self, state: HandoffState) -> bool:
        claimed_at = state.claimed_at
        return state.assessment_state == "pending" and claimed_at is not None and \
            self.handoffs.clock() - claimed_at < self.checklist_wait

    async def direct_message(self, job: Job) -> None:
        parts = await self._parts(job)
        if parts is None:
            return
        state, reply = parts
        if state.card is not None and state.card.message_ref is None and state.card.state != "failed":
            raise RetryLater("the message links to a card not posted yet", delay_s=self.wait_s, attempt_used=False)
        port = self._port(state)
        await self._paced(state, f"dm:{reply.person.external_id}", lambda: port.notify(
            state, reply, maybe_posted=job.attempts > 1
        ))


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def handoff_uuid(value: str) -> uuid.UUID | None:
    """Parse a handoff id from a button value; None for anything that is not one."""
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        return None
