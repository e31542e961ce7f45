"""Values the core hands out: handoff state and the outcomes of commands."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.snapshot import Snapshot

Platform = Literal["slack", "teams", "local"]
Role = Literal["viewer", "engineer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "engineer", "admin")


@dataclass(frozen=True)
class WorkspaceKey:
    """How adapters name a workspace: a Slack team id or a Teams tenant id, on its platform."""

    platform: str
    external_id: str
    name: str = ""


@dataclass(frozen=True)
class PersonKey:
    """How adapters name a person: the platform user id and the name to show. `chat_id`: the id the
    platform addresses them by in messages, when it is not `external_id` (Teams: the `29:…` id of a
    person keyed by their Entra object id)."""

    external_id: str
    display_name: str = ""
    chat_id: str | None = None


@dataclass(frozen=True)
class Person:
    id: int
    external_id: str
    display_name: str
    role: str
    chat_id: str | None = None  # see PersonKey
    email: str | None = None  # as the platform gave it, once asked (PSA assignment); None until then
    email_checked_at: datetime | None = None  # when the platform last gave or confirmed it

    @property
    def address(self) -> str:
        """The id to mention or message them by."""
        return self.chat_id or self.external_id


@dataclass(frozen=True)
class Workspace:
    id: int
    platform: str
    external_id: str
    name: str
    escalation_channel: str | None
    conversation_ref: dict[str, Any] | None = None
    channel_set_in_chat: bool = False  # chosen in chat: the configured (environment) channel no longer applies


@dataclass(frozen=True)
class CardRecord:
    """Where a handoff's card lives on its platform, and what it shows."""

    id: int
    platform: str
    channel: str
    message_ref: str | None
    conversation_ref: str | None
    service_url: str | None
    rendered_version: int
    state: str


@dataclass(frozen=True)
class HandoffState:
    """Everything a card or a reply needs about one handoff, as of one version."""

    id: uuid.UUID
    workspace: Workspace
    intent: str
    status: str
    author: Person
    target: Person | None
    snapshot: Snapshot
    assessment: dict[str, Any] | None
    assessment_state: str
    claimed_by: Person | None
    claimed_at: datetime | None
    first_action_at: datetime | None
    closed_at: datetime | None
    version: int
    created_at: datetime
    escalated_at: datetime | None
    updated_at: datetime
    card: CardRecord | None = None
    reminders_from: datetime | None = None
    snoozed_until: datetime | None = None
    overdue_at: datetime | None = None
    notice: str | None = None  # an integration's line for the card's footer (e.g. why PSA notes stopped)


# --- claim outcomes: expected races are values, not exceptions -------------------------


@dataclass(frozen=True)
class Won:
    handoff: HandoffState


@dataclass(frozen=True)
class AlreadyYours:
    handoff: HandoffState


@dataclass(frozen=True)
class Lost:
    handoff: HandoffState
    winner: Person
    claimed_at: datetime
    # The first time this person lost this handoff to this winner (the conflict record's key was new):
    # they are told privately then and only then, so a Slack retry or a double click tells them once.
    first: bool = True


# self_target: an escalation may not name its own author as the senior to notify.
# snooze_choice: a snooze length the card no longer offers (a card posted before the choices changed).
RefusalReason = Literal[
    "own_escalation", "viewer", "not_open", "not_found", "not_owner", "not_author", "self_target",
    "not_author_or_admin", "not_admin", "invalid", "other_workspace", "snooze_choice",
]


@dataclass(frozen=True)
class Refused:
    reason: RefusalReason
    handoff: HandoffState | None = None
    detail: str = ""  # for "invalid": what was wrong with the input


ClaimOutcome = Won | AlreadyYours | Lost | Refused


@dataclass(frozen=True)
class Done:
    """A guarded transition (release, resolve, cancel, escalate-parked) happened."""

    handoff: HandoffState


TransitionOutcome = Done | Refused


@dataclass(frozen=True)
class Escalated:
    handoff: HandoffState
    created: bool  # False when the idempotency key named an existing handoff


@dataclass(frozen=True)
class NoChannel:
    """The workspace has no escalation channel yet, so nothing was created."""

    workspace: Workspace


@dataclass(frozen=True)
class ChannelChange:
    """The outcome of asking to set a workspace's escalation channel."""

    changed: bool
    first_admin: bool  # the asker was made the workspace's first admin on the way
    admins: tuple[Person, ...]  # who may move it (for a refusal's "ask ...")


@dataclass(frozen=True)
class Snoozed:
    handoff: HandoffState
    until: datetime


@dataclass(frozen=True)
class ReminderSchedule:
    """A workspace's reminder schedule as set (or the default) and whether it is the default."""

    schedule: str
    is_default: bool


@dataclass(frozen=True)
class Stats:
    count: int
    claimed: int
    time_to_claim_median_s: float | None
    time_to_claim_p90_s: float | None
    time_to_first_action_median_s: float | None
    time_to_first_action_p90_s: float | None
    days: int = 0  # the window, in days, ending now
    open_now: int = 0
    overdue_now: int = 0
    by_urgency: tuple[tuple[str, int], ...] = ()  # (urgency, escalations), most urgent first
    top_pickers: tuple[tuple[str, int], ...] = ()  # (name, picked up), most first
    per_day: tuple[int, ...] = ()  # escalations per day, oldest first

    @property
    def picked_up_share(self) -> float | None:
        return self.claimed / self.count if self.count else None


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    handoff_id: uuid.UUID | None
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    max_attempts: int = 8
    dedupe_key: str | None = None
    last_error: str | None = None
