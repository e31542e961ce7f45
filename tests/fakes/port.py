"""An in-memory CardDelivery for core tests: records what a platform would have shown.

Platform adapters are tested against HTTP fakes of the real services; this one exercises the core's
job logic (convergence, replay, failure) without a platform.
"""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.services import Services
from core.budget import Pace
from core.delivery import ContactEmail, PostedCard, Reply
from core.errors import RetryLater
from core.handoffs import Handoffs
from core.models import HandoffState, Person
from core.worker import Worker


class RecordingPort:
    platform = "slack"
    pace = Pace(interval_s=0.0)

    def __init__(self) -> None:
        self.messages: dict[str, dict] = {}  # message_ref -> last shown state summary
        self.edits: list[tuple[str, int]] = []  # (message_ref, version) in the order shown
        self.replies: list[tuple[str, Reply]] = []
        self.notified: list[Reply] = []
        self.retired: list[str] = []  # duplicate copies turned into "duplicate of …"
        self.posts = 0
        self.hang_post = asyncio.Event()  # set -> post_card blocks forever after "sending"
        self.hang_edit_once = asyncio.Event()
        self.edit_started = asyncio.Event()
        self.release_edit = asyncio.Event()
        self.rate_limited_edits = 0
        self.emails: dict[str, ContactEmail] = {}  # external id -> what the platform says (default: none)
        self.email_lookups: list[str] = []
        self.names: dict[str, str] = {}  # external id -> the name the platform shows (default: the stored one)

    def _show(self, ref: str, state: HandoffState) -> None:
        self.messages[ref] = {"version": state.version, "status": state.status, "assessment": state.assessment_state}
        self.edits.append((ref, state.version))

    async def post_card(self, state: HandoffState, *, maybe_posted: bool) -> PostedCard:
        ref = f"ts-{state.id}"
        if maybe_posted and ref in self.messages:
            return PostedCard(message_ref=ref, shows_current=False)  # found the earlier try's message
        self.posts += 1
        self._show(ref, state)
        if self.hang_post.is_set():
            await asyncio.Event().wait()
        return PostedCard(message_ref=ref)

    async def edit_card(self, state: HandoffState) -> None:
        if self.rate_limited_edits > 0:
            self.rate_limited_edits -= 1
            raise RetryLater("429 from chat.update", delay_s=0.05)
        if self.hang_edit_once.is_set():
            self.hang_edit_once.clear()
            self.edit_started.set()
            await self.release_edit.wait()
        self._show(state.card.message_ref, state)

    async def reply_in_thread(self, state: HandoffState, reply: Reply, *, maybe_posted: bool) -> None:
        if maybe_posted and any(r.key == reply.key for _, r in self.replies):
            return
        self.replies.append((state.card.message_ref, reply))

    async def notify(self, state: HandoffState, reply: Reply, *, maybe_posted: bool) -> None:
        if maybe_posted and any(r.key == reply.key for r in self.notified):
            return
        self.notified.append(reply)

    async def retire_duplicate(self, state: HandoffState, duplicate: PostedCard) -> None:
        self.retired.append(duplicate.message_ref)

    async def contact_email(self, state: HandoffState, person: Person) -> ContactEmail:
        self.email_lookups.append(person.external_id)
        return self.emails.get(person.external_id, ContactEmail(None))

    async def shown_name(self, state: HandoffState, person: Person) -> str:
        return self.names.get(person.external_id, person.display_name)


def services_with(db, port: RecordingPort | None, *, handoffs: Handoffs | None = None) -> Services:
    """The real services (their job kinds, their worker) on `db`, delivering to `port` (None: no platform)."""
    return Services(settings=Settings(database_url="sqlite://unused"), database=db, handoffs=handoffs or Handoffs(db),
                    ports={"slack": port} if port is not None else {})


async def run_due(worker: Worker) -> int:
    """Run every job that is due on the worker's clock, one after another; how many ran."""
    ran = 0
    while await worker.run_one():
        ran += 1
    return ran
