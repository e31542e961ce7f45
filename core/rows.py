"""Turning store rows into the core's values."""

from __future__ import annotations

from typing import Any

from db import store
from core.models import CardRecord, HandoffState, Person, Workspace
from core.snapshot import Snapshot


def person_from_row(row: Any, prefix: str = "") -> Person | None:
    p = f"{prefix}_" if prefix else ""
    if row[f"{p}id"] is None:
        return None
    return Person(
        id=row[f"{p}id"],
        external_id=row[f"{p}external_id"],
        display_name=row[f"{p}display_name"],
        role=row[f"{p}role"],
        chat_id=row.get(f"{p}chat_id") if hasattr(row, "get") else None,
        email=row.get(f"{p}email") if hasattr(row, "get") else None,
        email_checked_at=row.get(f"{p}email_checked_at") if hasattr(row, "get") else None,
    )


def workspace_from_row(row: Any) -> Workspace:
    return Workspace(
        id=row["id"],
        platform=row["platform"],
        external_id=row["external_id"],
        name=row["name"],
        escalation_channel=row["escalation_channel"],
        conversation_ref=row["conversation_ref"],
        channel_set_in_chat=bool((row["settings"] or {}).get(store.CHANNEL_SET_IN_CHAT)),
    )


def handoff_from_row(row: Any) -> HandoffState:
    card = None
    if row["card_id"] is not None:
        card = CardRecord(
            id=row["card_id"],
            platform=row["card_platform"],
            channel=row["card_channel"],
            message_ref=row["card_message_ref"],
            conversation_ref=row["card_conversation_ref"],
            service_url=row["card_service_url"],
            rendered_version=row["card_rendered_version"],
            state=row["card_state"],
        )
    return HandoffState(
        id=row["id"],
        workspace=Workspace(
            id=row["workspace_id"],
            platform=row["ws_platform"],
            external_id=row["ws_external_id"],
            name=row["ws_name"],
            escalation_channel=row["ws_escalation_channel"],
            conversation_ref=row["ws_conversation_ref"],
        ),
        intent=row["intent"],
        status=row["status"],
        author=person_from_row(row, "p_author"),
        target=person_from_row(row, "p_target"),
        snapshot=Snapshot.from_json(row["snapshot"]),
        assessment=row["assessment"],
        assessment_state=row["assessment_state"],
        claimed_by=person_from_row(row, "p_claimer"),
        claimed_at=row["claimed_at"],
        first_action_at=row["first_action_at"],
        closed_at=row["closed_at"],
        version=row["version"],
        created_at=row["created_at"],
        escalated_at=row["escalated_at"],
        updated_at=row["updated_at"],
        card=card,
        reminders_from=row["reminders_from"],
        snoozed_until=row["snoozed_until"],
        overdue_at=row["overdue_at"],
        notice=row["notice"],
    )
