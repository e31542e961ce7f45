"""Slack surfaces besides the card: the /escalate modal, the list answer, App Home. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cards.limits import (
    SLACK_INPUT_TEXT,
    SLACK_MAX_BLOCKS,
    SLACK_MODAL_TITLE,
    SLACK_OPTION_TEXT,
    SLACK_PRIVATE_METADATA,
    SLACK_VIEW_BLOCKS,
)
from cards.messages import Message, more_elsewhere
from cards.slack import Block, action_id, actions, context, escape_mrkdwn, mention, mrkdwn, plain
from cards.slack_messages import paragraphs_mrkdwn
from cards.stats_messages import WINDOWS
from cards.view import URGENCY_LABELS, Button, CardView
from core.snapshot import FIELD_LABELS, FIELD_LIMITS
from core.text import strip_controls

ESCALATE_MODAL = "escalate_modal"
TARGET_FIELD = "target"
INTENT_FIELD = "intent"
INTENTS = {"escalate": "Escalate now", "park": "Park for later"}

# field -> (placeholder, multiline)
_TEXT_INPUTS = {
    "summary": ("What's broken, for whom, since when?", True),
    "tried": ("Steps already taken, and what happened", True),
    "notes": ("Anything else a senior should know", True),
    "ticket": ("e.g. INC-1234", False),
}


@dataclass(frozen=True)
class ModalPrefill:
    summary: str = ""
    tried: str = ""
    notes: str = ""
    urgency: str = "normal"
    ticket: str = ""


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label, SLACK_OPTION_TEXT), "value": value}


def _text_input(name: str, initial: str) -> Block:
    placeholder, multiline = _TEXT_INPUTS[name]
    required, limit = FIELD_LIMITS[name]
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": name,
        "multiline": multiline,
        "max_length": min(limit, SLACK_INPUT_TEXT),
        "placeholder": plain(placeholder, 150),
    }
    if initial:
        element["initial_value"] = strip_controls(initial)[: element["max_length"]]
    return {
        "type": "input",
        "block_id": name,
        "optional": not required,
        "label": plain(FIELD_LABELS[name], 2000),
        "element": element,
    }


def escalate_modal(prefill: ModalPrefill, *, private_metadata: str, notice: str = "") -> dict[str, Any]:
    """The /escalate form. Block ids equal the snapshot's field names so errors map straight back."""
    urgency_options = [_option(k, v) for k, v in URGENCY_LABELS.items()]
    initial_urgency = next((o for o in urgency_options if o["value"] == prefill.urgency), urgency_options[1])
    intent_options = [_option(k, v) for k, v in INTENTS.items()]
    blocks: list[Block] = []
    if notice:
        blocks.append(context(escape_mrkdwn(notice)))
    blocks += [
        _text_input("summary", prefill.summary),
        _text_input("tried", prefill.tried),
        _text_input("notes", prefill.notes),
        {
            "type": "input",
            "block_id": "urgency",
            "label": plain(FIELD_LABELS["urgency"], 2000),
            "element": {
                "type": "static_select",
                "action_id": "urgency",
                "options": urgency_options,
                "initial_option": initial_urgency,
            },
        },
        _text_input("ticket", prefill.ticket),
        {
            "type": "input",
            "block_id": TARGET_FIELD,
            "optional": True,
            "label": plain("Send to (optional)", 2000),
            "hint": plain("A senior to notify directly. Anyone can still pick it up.", 2000),
            "element": {"type": "users_select", "action_id": TARGET_FIELD, "placeholder": plain("Choose a senior", 150)},
        },
        {
            "type": "input",
            "block_id": INTENT_FIELD,
            "label": plain("When", 2000),
            "element": {
                "type": "radio_buttons",
                "action_id": INTENT_FIELD,
                "options": intent_options,
                "initial_option": intent_options[0],
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": ESCALATE_MODAL,
        "title": plain("Escalate", SLACK_MODAL_TITLE),
        "submit": plain("Send", SLACK_MODAL_TITLE),
        "close": plain("Cancel", SLACK_MODAL_TITLE),
        "private_metadata": private_metadata[:SLACK_PRIVATE_METADATA],
        "blocks": blocks,
    }


def done_modal(title: str, text: str) -> dict[str, Any]:
    """What the modal turns into after a good submit (answered in the ack, no API call)."""
    return {
        "type": "modal",
        "title": plain(title, SLACK_MODAL_TITLE),
        "close": plain("Close", SLACK_MODAL_TITLE),
        "blocks": [{"type": "section", "text": mrkdwn(text)}],
    }


def _item(view: CardView, accessory_action: str, label: str) -> Block:
    line = f"*{escape_mrkdwn(view.title)}*\n{escape_mrkdwn(view.urgency_label)} urgency · by {mention(view.author)} · {escape_mrkdwn(view.escalated_ago)}"
    return {
        "type": "section",
        "text": mrkdwn(line),
        "accessory": {
            "type": "button",
            "action_id": action_id(accessory_action),
            "text": plain(label, 75),
            "value": view.handoff_id,
        },
    }


def list_blocks(*, parked: list[CardView], queue: list[CardView], queue_total: int | None = None) -> list[Block]:
    """`/escalate list`, a message, so at most SLACK_MAX_BLOCKS blocks: the caller's parked items (Escalate
    now), then the open queue (Pick Up), newest first; past the limit, a last line says how many more
    there are and where (`queue_total`: how many are open in all, when more than `queue` holds)."""
    newest = lambda views: sorted(views, key=lambda v: v.escalated_at, reverse=True)  # noqa: E731
    parked, queue = newest(parked), newest(queue)
    total = len(parked) + max(len(queue), queue_total or 0)
    room = SLACK_MAX_BLOCKS - 2 - (not parked) - (not queue)  # the two headers, and "nothing here" lines
    if total > room:
        room -= 1  # the "and N more" line
    shown_parked = parked[:room]
    shown_queue = queue[: room - len(shown_parked)]
    blocks: list[Block] = [{"type": "header", "text": plain("Your parked items", 150)}]
    blocks += [_item(v, "escalate_now", "Escalate now") for v in shown_parked] or [context("Nothing parked.")]
    blocks.append({"type": "header", "text": plain("Open escalations", 150)})
    blocks += [_item(v, "pickup", "Pick Up") for v in shown_queue] or [context("The queue is empty. 🎉")]
    hidden = total - len(shown_parked) - len(shown_queue)
    if hidden > 0:
        blocks.append(context(paragraphs_mrkdwn(more_elsewhere(hidden))))
    return blocks


def list_fallback_text(*, parked: list[CardView], queue_total: int) -> str:
    return f"{len(parked)} parked, {queue_total} open escalations"


def week_blocks(week: Message, *, team_id: str) -> list[Block]:
    """The week at a glance, with buttons for the full stats (they carry the workspace they were drawn for)."""
    buttons = tuple(Button("stats", f"Stats: {days} days", f"{team_id}:{days}") for days in WINDOWS)
    return [
        {"type": "header", "text": plain("This week", 150)},
        {"type": "section", "text": mrkdwn(paragraphs_mrkdwn(week))},
        *actions(buttons, block_id="handoff_stats"),
    ]


def home_view(queue: list[CardView], *, week: Message | None = None, team_id: str = "",
              settings: list[Block] = ()) -> dict[str, Any]:
    """The App Home: the week at a glance, the open queue, then settings (the last to be cut)."""
    blocks: list[Block] = week_blocks(week, team_id=team_id) if week is not None else []
    blocks += [
        {"type": "header", "text": plain("Open escalations", 150)},
        context("Run `/escalate` in any channel to ask for help, or `/escalate list` for your parked items."),
    ]
    items = [_item(v, "pickup", "Pick Up") for v in queue] or [context("The queue is empty. 🎉")]
    room = SLACK_VIEW_BLOCKS - len(blocks) - len(settings)
    blocks += items[:room] + list(settings)
    return {"type": "home", "blocks": blocks[:SLACK_VIEW_BLOCKS]}
