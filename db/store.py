"""Queries on one connection inside the caller's transaction. Nothing here commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import cards, events, handoffs, people, workspaces

# Still waiting for the model: "interim" is the labelled fallback shown after the deadline.
OPEN_ASSESSMENT_STATES = ("pending", "interim")


def dialect_insert(conn: AsyncConnection, table):
    """INSERT with ON CONFLICT support on either backend."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


# --- workspaces and people ---------------------------------------------------------------


async def _upsert(conn: AsyncConnection, table, *, values: dict[str, Any], keys: list[str], refresh: dict[str, Any]):
    """Insert, or on a key conflict update `refresh` (a no-op rewrite of a key when empty) so
    RETURNING always yields the row."""
    stmt = dialect_insert(conn, table).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=refresh or {keys[0]: stmt.excluded[keys[0]]})
    return (await conn.execute(stmt.returning(*table.c))).mappings().one()


async def upsert_workspace(
    conn: AsyncConnection, *, platform: str, external_id: str, name: str, now: datetime
) -> RowMapping:
    return await _upsert(
        conn,
        workspaces,
        values={"platform": platform, "external_id": external_id, "name": name, "settings": {}, "created_at": now},
        keys=["platform", "external_id"],
        refresh={"name": name} if name else {},
    )


async def get_workspace(conn: AsyncConnection, *, platform: str, external_id: str) -> RowMapping | None:
    stmt = select(workspaces).where(
        workspaces.c.platform == platform, workspaces.c.external_id == external_id
    )
    return (await conn.execute(stmt)).mappings().first()


async def get_workspace_by_id(conn: AsyncConnection, workspace_id: int) -> RowMapping | None:
    return (await conn.execute(select(workspaces).where(workspaces.c.id == workspace_id))).mappings().first()


CHANNEL_SET_IN_CHAT = "channel_set_in_chat"  # a workspace setting: the channel was chosen in chat


async def set_workspace_channel(
    conn: AsyncConnection, *, workspace_id: int, channel: str, conversation_ref: dict | None, in_chat: bool = False
) -> None:
    row = await get_workspace_by_id(conn, workspace_id)
    settings = {**(row["settings"] or {}), CHANNEL_SET_IN_CHAT: in_chat}
    await conn.execute(
        update(workspaces)
        .where(workspaces.c.id == workspace_id)
        .values(escalation_channel=channel, conversation_ref=conversation_ref, settings=settings)
    )


async def set_workspace_setting(conn: AsyncConnection, *, workspace_id: int, name: str, value: Any) -> Any:
    """One of a workspace's settings (the others kept; the row locked so a concurrent change of another is not lost).
    Returns the setting's value before (None when it had none); an unchanged value is not written again."""
    stmt = select(workspaces.c.settings).where(workspaces.c.id == workspace_id).with_for_update()
    settings = (await conn.execute(stmt)).scalar_one() or {}
    before = settings.get(name)
    if before != value:
        await conn.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                           .values(settings={**settings, name: value}))
    return before


async def upsert_person(
    conn: AsyncConnection, *, workspace_id: int, external_id: str, display_name: str, now: datetime,
    chat_id: str | None = None,
) -> RowMapping:
    refresh: dict[str, Any] = {"display_name": display_name} if display_name else {}
    if chat_id:
        refresh["chat_id"] = chat_id
    return await _upsert(
        conn,
        people,
        values={
            "workspace_id": workspace_id,
            "external_id": external_id,
            "display_name": display_name or external_id,
            "chat_id": chat_id,
            "role": "engineer",
            "created_at": now,
        },
        keys=["workspace_id", "external_id"],
        refresh=refresh,
    )


async def get_person(conn: AsyncConnection, person_id: int) -> RowMapping | None:
    return (await conn.execute(select(people).where(people.c.id == person_id))).mappings().first()


async def set_role(conn: AsyncConnection, *, person_id: int, role: str) -> None:
    await conn.execute(update(people).where(people.c.id == person_id).values(role=role))


async def set_person_email(conn: AsyncConnection, *, person_id: int, email: str, now: datetime) -> None:
    """The email the platform gave (or confirmed) `now`."""
    await conn.execute(update(people).where(people.c.id == person_id).values(email=email, email_checked_at=now))


async def list_admins(conn: AsyncConnection, *, workspace_id: int) -> Sequence[RowMapping]:
    query = select(people).where(people.c.workspace_id == workspace_id, people.c.role == "admin").order_by(people.c.id)
    return (await conn.execute(query)).mappings().all()


# --- handoffs -----------------------------------------------------------------------------

_author = people.alias("author")
_target = people.alias("target")
_claimer = people.alias("claimer")


def _labelled(table, prefix: str, names: tuple[str, ...]) -> list:
    return [table.c[name].label(f"{prefix}_{name}") for name in names]


def _person_columns(alias, prefix: str) -> list:
    return _labelled(alias, prefix, ("id", "external_id", "display_name", "chat_id", "role"))


# What a view row carries of the workspace and the card (core/rows.py reads them by these labels).
_WORKSPACE_COLUMNS = ("platform", "external_id", "name", "escalation_channel", "conversation_ref")
_CARD_COLUMNS = ("id", "platform", "channel", "message_ref", "conversation_ref", "service_url", "rendered_version", "state")


def handoff_view(source) -> Select:
    """A handoff with its workspace, people and card. `source` is the handoffs table, or a CTE with
    its columns (the rows a statement just changed, which the same statement cannot re-read)."""
    return (
        select(
            source,
            *_labelled(workspaces, "ws", _WORKSPACE_COLUMNS),
            *_person_columns(_author, "p_author"),
            *_person_columns(_target, "p_target"),
            *_person_columns(_claimer, "p_claimer"),
            *_labelled(cards, "card", _CARD_COLUMNS),
        )
        .join(workspaces, workspaces.c.id == source.c.workspace_id)
        .join(_author, _author.c.id == source.c.created_by)
        .outerjoin(_target, _target.c.id == source.c.target_id)
        .outerjoin(_claimer, _claimer.c.id == source.c.claimed_by)
        .outerjoin(cards, and_(cards.c.handoff_id == source.c.id, cards.c.platform == workspaces.c.platform))
    )


_HANDOFF_VIEW = handoff_view(handoffs)
_HANDOFF_BY_ID = _HANDOFF_VIEW.where(handoffs.c.id == bindparam("handoff_id"))
_HANDOFF_IN_WORKSPACE = _HANDOFF_BY_ID.where(handoffs.c.workspace_id == bindparam("workspace_id"))


async def load_handoff(
    conn: AsyncConnection, handoff_id: uuid.UUID, *, workspace_id: int | None = None
) -> RowMapping | None:
    if workspace_id is None:
        result = await conn.execute(_HANDOFF_BY_ID, {"handoff_id": handoff_id})
    else:
        result = await conn.execute(_HANDOFF_IN_WORKSPACE, {"handoff_id": handoff_id, "workspace_id": workspace_id})
    return result.mappings().first()


async def insert_handoff(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert unless the workspace already has a handoff with this idempotency key."""
    stmt = dialect_insert(conn, handoffs).values(**values)
    if values.get("idempotency_key") is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
    result = await conn.execute(stmt)
    return result.rowcount == 1


async def find_handoff_id(conn: AsyncConnection, *, workspace_id: int, idempotency_key: str) -> uuid.UUID | None:
    stmt = select(handoffs.c.id).where(
        handoffs.c.workspace_id == workspace_id, handoffs.c.idempotency_key == idempotency_key
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def transition_handoff(
    conn: AsyncConnection,
    *,
    handoff_id: uuid.UUID,
    workspace_id: int,
    guard: dict[str, Any],
    values: dict[str, Any],
    now: datetime,
) -> int | None:
    """A guarded state change: applies `values` only where every `guard` column matches.

    A guard value that is a list/tuple means "one of". Returns the new version or None.
    """
    conditions = [handoffs.c.id == handoff_id, handoffs.c.workspace_id == workspace_id]
    for column, expected in guard.items():
        col = handoffs.c[column]
        if isinstance(expected, (list, tuple)):
            conditions.append(col.in_(expected))
        elif expected is None:
            conditions.append(col.is_(None))
        else:
            conditions.append(col == expected)
    stmt = (
        update(handoffs)
        .where(*conditions)
        .values(**values, version=handoffs.c.version + 1, updated_at=now)
        .returning(handoffs.c.version)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def set_first_action(
    conn: AsyncConnection, *, handoff_id: uuid.UUID, person_id: int, now: datetime
) -> bool:
    """Record the owner's first action once; later calls change nothing."""
    stmt = (
        update(handoffs)
        .where(
            handoffs.c.id == handoff_id,
            handoffs.c.claimed_by == person_id,
            handoffs.c.first_action_at.is_(None),
        )
        .values(first_action_at=now, updated_at=now)
    )
    return (await conn.execute(stmt)).rowcount == 1


def _queue_filter(workspace_id: int, exclude_person_id: int | None) -> list:
    where = [handoffs.c.workspace_id == workspace_id, handoffs.c.status == "open", handoffs.c.intent == "escalate"]
    if exclude_person_id is not None:
        where.append(handoffs.c.created_by != exclude_person_id)
    return where


async def list_queue(
    conn: AsyncConnection, *, workspace_id: int, exclude_person_id: int | None, limit: int, newest_first: bool = False
) -> Sequence[RowMapping]:
    order = (handoffs.c.escalated_at.desc(), handoffs.c.id.desc()) if newest_first else (handoffs.c.escalated_at, handoffs.c.id)
    stmt = _HANDOFF_VIEW.where(*_queue_filter(workspace_id, exclude_person_id)).order_by(*order).limit(limit)
    return (await conn.execute(stmt)).mappings().all()


async def count_queue(conn: AsyncConnection, *, workspace_id: int, exclude_person_id: int | None) -> int:
    stmt = select(func.count()).select_from(handoffs).where(*_queue_filter(workspace_id, exclude_person_id))
    return (await conn.execute(stmt)).scalar_one()


async def list_parked(
    conn: AsyncConnection, *, workspace_id: int, person_id: int, limit: int
) -> Sequence[RowMapping]:
    stmt = (
        _HANDOFF_VIEW.where(
            handoffs.c.workspace_id == workspace_id,
            handoffs.c.created_by == person_id,
            handoffs.c.intent == "park",
            handoffs.c.status == "open",
        )
        .order_by(handoffs.c.created_at, handoffs.c.id)
        .limit(limit)
    )
    return (await conn.execute(stmt)).mappings().all()


async def set_assessment(
    conn: AsyncConnection,
    *,
    handoff_id: uuid.UUID,
    state: str,
    assessment: dict[str, Any] | None,
    now: datetime,
) -> int | None:
    """Store an assessment unless a final one already landed (an interim fallback may be replaced);
    returns the new version or None."""
    stmt = (
        update(handoffs)
        .where(handoffs.c.id == handoff_id, handoffs.c.assessment_state.in_(OPEN_ASSESSMENT_STATES))
        .values(
            assessment_state=state,
            assessment=assessment,
            version=handoffs.c.version + 1,
            updated_at=now,
        )
        .returning(handoffs.c.version)
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


# --- cards ----------------------------------------------------------------------------------


async def insert_card(
    conn: AsyncConnection, *, handoff_id: uuid.UUID, platform: str, channel: str, now: datetime
) -> None:
    stmt = (
        dialect_insert(conn, cards)
        .values(handoff_id=handoff_id, platform=platform, channel=channel, state="pending", updated_at=now)
        .on_conflict_do_nothing(index_elements=["handoff_id", "platform"])
    )
    await conn.execute(stmt)


async def update_card(conn: AsyncConnection, *, card_id: int, now: datetime, **values: Any) -> None:
    await conn.execute(update(cards).where(cards.c.id == card_id).values(**values, updated_at=now))


async def recorded_message(conn: AsyncConnection, *, card_id: int) -> str | None:
    """The message a card's record points at, locked until the transaction ends (PostgreSQL), so two
    tries that both posted cannot both record theirs."""
    stmt = select(cards.c.message_ref).where(cards.c.id == card_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).scalar_one_or_none()


async def record_card_rendered(
    conn: AsyncConnection, *, card_id: int, version: int, now: datetime, **values: Any
) -> bool:
    """Move rendered_version forward only; an older render never overwrites a newer one."""
    stmt = (
        update(cards)
        .where(cards.c.id == card_id, cards.c.rendered_version < version)
        .values(rendered_version=version, updated_at=now, **values)
    )
    return (await conn.execute(stmt)).rowcount == 1


# --- events -----------------------------------------------------------------------------------


_INSERT_EVENT = {
    name: dialect(events).on_conflict_do_nothing(index_elements=["dedupe_key"])
    for name, dialect in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def event_row(
    *,
    workspace_id: int,
    kind: str,
    now: datetime,
    handoff_id: uuid.UUID | None = None,
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """One row of the trail, for insert_event_row or a statement that writes it along (db.claims)."""
    return {
        "workspace_id": workspace_id,
        "handoff_id": handoff_id,
        "kind": kind,
        "actor_id": actor_id,
        "data": data or {},
        "dedupe_key": dedupe_key,
        "created_at": now,
    }


async def insert_event(conn: AsyncConnection, **fields: Any) -> bool:
    """Append to the trail (see event_row for the fields). With a dedupe_key, a second insert of the
    same key changes nothing."""
    return await insert_event_row(conn, event_row(**fields))


async def insert_event_row(conn: AsyncConnection, row: dict[str, Any]) -> bool:
    """insert_event for a row event_row made."""
    return (await conn.execute(_INSERT_EVENT[conn.dialect.name], row)).rowcount == 1


async def list_events(conn: AsyncConnection, *, handoff_id: uuid.UUID) -> Sequence[RowMapping]:
    stmt = select(events).where(events.c.handoff_id == handoff_id).order_by(events.c.id)
    return (await conn.execute(stmt)).mappings().all()


async def count_rows(conn: AsyncConnection, table) -> int:
    return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def find_handoff_by_card(
    conn: AsyncConnection, *, workspace_id: int, platform: str, message_ref: str
) -> uuid.UUID | None:
    """Which handoff a posted card (Slack ts / Teams activity or conversation id) belongs to."""
    stmt = (
        select(cards.c.handoff_id)
        .join(handoffs, handoffs.c.id == cards.c.handoff_id)
        .where(
            handoffs.c.workspace_id == workspace_id,
            cards.c.platform == platform,
            (cards.c.message_ref == message_ref) | (cards.c.conversation_ref == message_ref),
        )
    )
    return (await conn.execute(stmt)).scalars().first()


async def fail_undelivered_cards(conn: AsyncConnection, *, workspace_id: int, reason: str, now: datetime) -> int:
    """Cards of the workspace not posted yet get a failed delivery record saying why."""
    stmt = (
        update(cards)
        .where(cards.c.state.in_(("pending", "posting")),
               cards.c.handoff_id.in_(select(handoffs.c.id).where(handoffs.c.workspace_id == workspace_id)))
        .values(state="failed", last_error=reason, updated_at=now)
    )
    return (await conn.execute(stmt)).rowcount
