"""Job kinds the core enqueues, and the keys that keep one handoff's effects in order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from db import outbox

CARD_SYNC = "card.sync"  # post the card, or edit it to the handoff's current version
ASSESS = "assess"  # ask the model (or the heuristic) for a diagnostic assessment
THREAD_REPLY = "thread.reply"  # a reply in the card's thread (conflict, claimed checklist)
NOTIFY_TARGET = "notify.target"  # a direct message to the senior the author named
AUTHOR_POSTED = "notify.author"  # a direct message to the author: "your card is posted", with its link

# Fewer tries than other jobs: each already includes the SDK's own retries, and the card should
# show the fallback within minutes, not after an hour of backoff.
ASSESS_MAX_ATTEMPTS = 3


# Jobs that integrations register (bot/services.py) to hear about a ticketed handoff's changes.
OBSERVER_MAX_ATTEMPTS = 12


def observer_jobs(
    kinds: tuple[str, ...], handoff_id: uuid.UUID, *, event: str, version: int, now: datetime, **facts: Any
) -> list[dict[str, Any]]:
    """One job per observer kind for one state change: a generic kind name and the change's facts.
    Keyed by event and version, so a replayed command adds nothing and each change is told once."""
    payload = {"event": event, "version": version, **facts}
    return [
        outbox.job(kind, handoff_id=handoff_id, payload=payload, dedupe_key=f"{kind}:{handoff_id}:{event}:{version}",
                   now=now, max_attempts=OBSERVER_MAX_ATTEMPTS)
        for kind in kinds
    ]


def card_key(handoff_id: uuid.UUID) -> str:
    return f"card:{handoff_id}"


def assess_key(handoff_id: uuid.UUID) -> str:
    return f"assess:{handoff_id}"


def card_sync(handoff_id: uuid.UUID, *, now: datetime) -> dict[str, Any]:
    """The job that brings a handoff's card to its current version (a no-op where there is no card)."""
    return outbox.job(CARD_SYNC, handoff_id=handoff_id, dedupe_key=card_key(handoff_id), now=now)


def thread_reply(
    handoff_id: uuid.UUID, *, reply: str, person_id: int, key: str, now: datetime,
    winner_id: int | None = None, claimed_at: datetime | None = None,
) -> dict[str, Any]:
    """A reply in the card's thread. `key` is unique per handoff for this message (`conflict:<person id>`,
    `claimed:<claim version>`): a retry looks for a reply carrying it before posting again.
    A conflict names the winner and when they claimed it."""
    payload: dict[str, Any] = {"reply": reply, "person_id": person_id, "key": key}
    if winner_id is not None:
        payload["winner_id"] = winner_id
    if claimed_at is not None:
        payload["claimed_at"] = claimed_at.isoformat()
    return outbox.job(THREAD_REPLY, handoff_id=handoff_id, payload=payload,
                      dedupe_key=f"reply:{handoff_id}:{key}", now=now)


def direct_message(kind: str, handoff_id: uuid.UUID, *, person_id: int, key: str, now: datetime) -> dict[str, Any]:
    """A direct message (NOTIFY_TARGET, AUTHOR_POSTED), keyed like thread replies."""
    return outbox.job(kind, handoff_id=handoff_id, payload={"person_id": person_id, "key": key},
                      dedupe_key=f"dm:{handoff_id}:{key}", now=now)
