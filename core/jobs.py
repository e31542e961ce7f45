"""Job kinds the core enqueues, and the keys that keep one handoff's effects in order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from db import outbox

CARD_SYNC = "card.sync"  # post the card, or edit it to the handoff's current version
CARD_DUPLICATE = "card.duplicate"  # a second copy of a card was posted: turn it into "duplicate of …"
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


def card_duplicate(handoff_id: uuid.UUID, *, message_ref: str, conversation_ref: str | None,
                   service_url: str | None, now: datetime) -> dict[str, Any]:
    """The job that turns a second copy of a handoff's card into "duplicate of …" (once per copy)."""
    return outbox.job(
        CARD_DUPLICATE, handoff_id=handoff_id, now=now,
        payload={"message_ref": message_ref, "conversation_ref": conversation_ref, "service_url": service_url},
        dedupe_key=f"duplicate:{handoff_id}:{message_ref}",
    )


# --- reminders (core/reminders.py runs them) ------------------------------------------------

REMIND = "remind.step"  # the step-th nudge of an unclaimed escalation
FIRST_ACTION_NUDGE = "remind.first_action"  # the owner has done nothing visible yet
ASSESS_DEADLINE = "assess.deadline"  # show the labelled fallback while the model is still awaited
SNOOZE_END = "remind.snooze_end"  # a snooze ran out: the card stops saying "snoozed until"
# Jobs that wait for a time rather than for work: "nothing left to do" does not wait for them.
TIMER_KINDS = frozenset({REMIND, FIRST_ACTION_NUDGE, ASSESS_DEADLINE, SNOOZE_END})


def epoch_ms(when: datetime) -> int:
    return int(round(when.timestamp() * 1000))


def remind_step(handoff_id: uuid.UUID, *, base: datetime, step: int, due: datetime, now: datetime) -> dict[str, Any]:
    """One reminder step, counted from `base` (escalated or released at). Keyed by arming and step,
    so a replay or a second replica adds nothing, and an older arming's jobs find themselves stale."""
    return outbox.job(
        REMIND,
        handoff_id=handoff_id,
        payload={"step": step, "from_ms": epoch_ms(base)},
        dedupe_key=f"remind:{handoff_id}:{epoch_ms(base)}:{step}",
        run_after=due,
        now=now,
    )


def first_action_nudge(
    handoff_id: uuid.UUID, *, person_id: int, claimed_at: datetime, due: datetime, now: datetime
) -> dict[str, Any]:
    return outbox.job(
        FIRST_ACTION_NUDGE,
        handoff_id=handoff_id,
        payload={"person_id": person_id, "claimed_ms": epoch_ms(claimed_at)},
        dedupe_key=f"first_action:{handoff_id}:{epoch_ms(claimed_at)}",
        run_after=due,
        now=now,
    )


def snooze_end(handoff_id: uuid.UUID, *, until: datetime, now: datetime) -> dict[str, Any]:
    """Due when a snooze runs out. Keyed by its end, so a replay adds nothing and a later snooze's own job
    takes over (this one then finds the snooze moved and does nothing)."""
    return outbox.job(
        SNOOZE_END, handoff_id=handoff_id, payload={"until_ms": epoch_ms(until)},
        dedupe_key=f"snooze_end:{handoff_id}:{epoch_ms(until)}", run_after=until, now=now,
    )


def assess_deadline(handoff_id: uuid.UUID, *, due: datetime, now: datetime) -> dict[str, Any]:
    return outbox.job(ASSESS_DEADLINE, handoff_id=handoff_id, dedupe_key=f"deadline:{handoff_id}", run_after=due, now=now)


def message(
    kind: str, *, handoff_id: uuid.UUID, reply: str, person_id: int, key: str, now: datetime, **data: Any
) -> dict[str, Any]:
    """A thread reply (THREAD_REPLY) or a direct message (NOTIFY_TARGET, AUTHOR_POSTED) saying `reply`, to
    or about `person_id`. `key` is its idempotency key, unique per handoff and message (`conflict:<ids>`,
    `claimed:<who>:<when>`, `author_posted`): the platform carries it with the message, so a retry after
    a try that may have posted looks for it before posting again."""
    return outbox.job(
        kind, handoff_id=handoff_id, payload={"reply": reply, "person_id": person_id, "key": key, **data},
        dedupe_key=f"{kind}:{handoff_id}:{key}", now=now,
    )
