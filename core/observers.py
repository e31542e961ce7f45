"""Telling integrations (PSA notes, say) about a ticketed handoff's changes, as generic outbox jobs.

The core knows the observers only by job kind name (given by bot/services.py); each change enqueues one
job per observer in the transaction that makes the change, keyed by event and version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import jobs as job_kinds
from core.models import HandoffState
from db import outbox


async def tell(
    conn, observers: tuple[str, ...], state: HandoffState, *, event: str, version: int | None = None,
    now: datetime, **facts: Any,
) -> None:
    """Enqueue the observers' jobs when there are observers and the handoff names a ticket."""
    if observers and state.snapshot.ticket:
        jobs = job_kinds.observer_jobs(
            observers, state.id, event=event, version=version or state.version, now=now, **facts
        )
        await outbox.enqueue_all(conn, jobs)


def seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else max(0.0, (end - start).total_seconds())


def times(state: HandoffState, now: datetime) -> dict[str, Any]:
    """Time to pick-up and to first action as the core's stats count them (from escalation), and how
    long the owner held it: taken from the state before a release clears them."""
    return {
        "to_pickup_s": seconds(state.escalated_at, state.claimed_at),
        "to_first_action_s": seconds(state.escalated_at, state.first_action_at),
        "held_s": seconds(state.claimed_at, now),
    }
