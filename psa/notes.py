"""The text of each PSA note: pure functions from a handoff's state and an event's facts.

Where a note says what the card says (the escalation's fields, the assessment's parts), it uses the card's
words (core/snapshot.FIELD_LABELS, cards/view.py); a PSA shows plain text, so only the words are shared.

Each note ends with a marker naming the handoff, the event and its version; after a lost answer the
job looks for the marker on the ticket before writing again. A note longer than the PSA takes is cut
with "…" before the marker, never rejected.
"""

from __future__ import annotations

import uuid
from typing import Any

from cards.view import (
    ASSESSMENT_HEADINGS, ASSESSMENT_SUMMARY, LIKELY_CAUSES, NEXT_STEPS, confidence_words, humanize_seconds,
)
from core.models import HandoffState
from core.snapshot import FIELD_LABELS

ELLIPSIS = "…"
PLATFORMS = {"slack": "Slack", "teams": "Teams"}


def marker(handoff_id: uuid.UUID, event: str, version: int) -> str:
    return f"[handoff:{handoff_id}:{event}:{version}]"


def fit(text: str, mark: str, limit: int) -> str:
    """The note as written: `text`, cut with … to fit `limit` together with the marker line."""
    tail = f"\n\n{mark}"
    room = limit - len(tail)
    if len(text) > room:
        text = text[: max(0, room - len(ELLIPSIS))].rstrip() + ELLIPSIS
    return text + tail


def duration(seconds: float | None) -> str:
    """The card's wording for a span of time ('4 minutes'), or 'not recorded'."""
    return "not recorded" if seconds is None else humanize_seconds(seconds)


def card_link(state: HandoffState) -> str | None:
    """A link to the escalation card, where the platform has one."""
    card = state.card
    if card is None or not card.message_ref:
        return None
    if card.platform == "slack":
        return f"https://slack.com/archives/{card.channel}/p{card.message_ref.replace('.', '')}"
    if card.platform == "teams":
        return f"https://teams.microsoft.com/l/message/{card.channel}/{card.message_ref}"
    return None


def _section(label: str, value: str) -> list[str]:
    return [f"{label}:", value.strip(), ""] if value and value.strip() else []


def escalation(state: HandoffState, *, actor: str) -> str:
    s = state.snapshot
    where = PLATFORMS.get(state.workspace.platform, state.workspace.platform)
    lines = [f"Escalated in {where} by {actor} (urgency: {s.urgency})", ""]
    lines += [line for name in ("summary", "tried", "notes") for line in _section(FIELD_LABELS[name], getattr(s, name))]
    link = card_link(state)
    lines.append(f"Escalation card: {link}" if link else "Escalation card: not posted yet")
    return "\n".join(lines).strip()


def assessment(state: HandoffState) -> str:
    data = state.assessment or {}
    if data.get("source") == "model":
        model = data.get("model") or "unnamed"
        label = f"{ASSESSMENT_HEADINGS['ready']} (model: {model}, {confidence_words(data.get('confidence', 'low'))})"
    else:
        label = ASSESSMENT_HEADINGS["fallback"]
    lines = [label, ""]
    if data.get("note"):
        lines += [str(data["note"]), ""]
    lines += _section(ASSESSMENT_SUMMARY, str(data.get("summary", "")))
    for title, key in ((LIKELY_CAUSES, "likely_causes"), (NEXT_STEPS, "next_steps")):
        items = [str(v) for v in data.get(key) or []]
        if items:
            lines += [f"{title}:"] + [f"{i}. {v}" for i, v in enumerate(items, 1)] + [""]
    return "\n".join(lines).strip()


def picked_up(*, actor: str, facts: dict[str, Any]) -> str:
    return f"Picked up by {actor} after {duration(facts.get('to_pickup_s'))}"


def released(*, actor: str, facts: dict[str, Any]) -> str:
    return "\n".join([
        f"Released by {actor} after holding it {duration(facts.get('held_s'))}: back in the escalation queue.",
        f"Time to pick-up: {duration(facts.get('to_pickup_s'))}.",
        f"Time to first action: {duration(facts.get('to_first_action_s'))}.",
    ])


def resolved(*, actor: str, facts: dict[str, Any]) -> str:
    return "\n".join([
        f"Resolved by {actor}.",
        f"Time to pick-up: {duration(facts.get('to_pickup_s'))}.",
        f"Time to first action: {duration(facts.get('to_first_action_s'))}.",
    ])


def render(state: HandoffState, *, event: str, actor: str, facts: dict[str, Any]) -> str | None:
    """The note for one event (None for an event that writes no note)."""
    if event == "escalated":
        return escalation(state, actor=actor)
    if event == "assessed":
        return assessment(state)
    if event == "claimed":
        return picked_up(actor=actor, facts=facts)
    if event == "released":
        return released(actor=actor, facts=facts)
    if event == "resolved":
        return resolved(actor=actor, facts=facts)
    return None
