"""The schema: one place that says what is stored. Alembic migrations mirror it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.types import DateTime, TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids that SQLite still treats as ROWID aliases (autoincrement).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (portable across SQLite and PostgreSQL), read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("name", String(256), nullable=False, server_default=""),
    Column("escalation_channel", String(256)),
    Column("conversation_ref", JSON),
    Column("settings", JSON, nullable=False, server_default=text("'{}'")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "external_id", name="uq_workspaces_platform_external"),
)

people = Table(
    "people",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", BigId, ForeignKey("workspaces.id"), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("display_name", String(256), nullable=False),
    # The id the platform addresses them by in messages when it is not external_id (Teams: `29:…`).
    Column("chat_id", String(128), nullable=True),
    # What the platform gives as their email (asked for lazily, for PSA assignment); NULL until then.
    Column("email", String(320), nullable=True),
    # When the platform last gave or confirmed that email: an older one is asked for again (psa/assign.py).
    Column("email_checked_at", UTCDateTime, nullable=True),
    Column("role", String(16), nullable=False, server_default="engineer"),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "external_id", name="uq_people_workspace_external"),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("workspace_id", BigId, ForeignKey("workspaces.id"), nullable=False),
    Column("intent", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", BigId, ForeignKey("people.id"), nullable=False),
    Column("target_id", BigId, ForeignKey("people.id")),
    Column("snapshot", JSON, nullable=False),
    Column("assessment", JSON),
    Column("assessment_state", String(16), nullable=False, server_default="pending"),
    Column("claimed_by", BigId, ForeignKey("people.id")),
    Column("claimed_at", UTCDateTime),
    Column("first_action_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("idempotency_key", String(256)),
    Column("escalated_at", UTCDateTime),
    # Reminders count from here (escalated, or released back to the queue); a snooze holds them off
    # until snoozed_until; overdue_at is set when the last reminder went out unanswered.
    Column("reminders_from", UTCDateTime),
    Column("snoozed_until", UTCDateTime),
    Column("overdue_at", UTCDateTime),
    # One line an integration leaves for the card's footer (why PSA notes stopped, say); no secrets.
    Column("notice", String(300)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "idempotency_key", name="uq_handoffs_workspace_idempotency"),
    Index("ix_handoffs_queue", "workspace_id", "status", "created_at"),
)

cards = Table(
    "cards",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("handoff_id", Uuid, ForeignKey("handoffs.id"), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("channel", String(256), nullable=False),
    # Slack: message ts; Teams: activity id of the card.
    Column("message_ref", String(256)),
    # Teams: the conversation created for the card and the connector's service URL.
    Column("conversation_ref", String(512)),
    Column("service_url", String(512)),
    Column("rendered_version", Integer, nullable=False, server_default="0"),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("handoff_id", "platform", name="uq_cards_handoff_platform"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("handoff_id", Uuid),
    Column("payload", JSON, nullable=False, server_default=text("'{}'")),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False, server_default="8"),
    Column("run_after", UTCDateTime, nullable=False),
    Column("lease_owner", String(128)),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    # Jobs sharing a key never run at once, and at most one of them waits pending.
    Column("dedupe_key", String(256)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_jobs_due", "state", "run_after"),
    Index(
        "uq_jobs_pending_dedupe",
        "dedupe_key",
        unique=True,
        postgresql_where=text("state = 'pending'"),
        sqlite_where=text("state = 'pending'"),
    ),
    Index("ix_jobs_dedupe_key", "dedupe_key"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", BigId, ForeignKey("workspaces.id"), nullable=False),
    Column("handoff_id", Uuid, ForeignKey("handoffs.id")),
    Column("kind", String(64), nullable=False),
    Column("actor_id", BigId, ForeignKey("people.id")),
    Column("data", JSON, nullable=False, server_default=text("'{}'")),
    # Set where an event must happen at most once (one conflict reply per loser, say).
    Column("dedupe_key", String(256), unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_events_handoff", "handoff_id", "id"),
)


psa_connections = Table(
    "psa_connections",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("workspace_id", BigId, ForeignKey("workspaces.id"), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    # Where the PSA is and who the API user is: not secret.
    Column("settings", JSON, nullable=False, server_default=text("'{}'")),
    # The credentials, Fernet-encrypted under HANDOFF_SECRET_KEY.
    Column("secrets", Text, nullable=False),
    Column("updated_by", BigId, ForeignKey("people.id")),
    Column("updated_at", UTCDateTime, nullable=False),
)


# Budgets shared by replicas (db/budget.py): a channel's next post slot (GCRA, epoch seconds of the
# database's clock) and the model-call slots.
channel_slots = Table(
    "channel_slots",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("tat", Float(precision=53), nullable=False),
)

model_slots = Table(
    "model_slots",
    metadata,
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(128)),
    Column("lease_until", Float(precision=53)),
)


def utcnow() -> datetime:
    return datetime.now(UTC)
