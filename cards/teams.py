"""CardView -> Microsoft Teams Adaptive Cards (1.5). Pure: no I/O, no database, no SDK.

The escalation card uses Action.Execute (Universal Actions), so a click arrives as an
`adaptiveCard/action` invoke whose answer is the card the clicker sees at once.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from cards.limits import TEAMS_CARD_BYTES, TEAMS_TEXT_BLOCK, truncate
from core.text import neutralize_mentions, strip_controls
from cards.parts import Line, render_line
from cards.view import (
    ASSESSMENT_SUMMARY,
    LIKELY_CAUSES,
    NEXT_STEPS,
    AssessmentView,
    Button,
    CardView,
)
from cards.messages import field_error_text, worded
from cards.psa_messages import card_notice
from core.snapshot import FIELD_LABELS, FIELD_LIMITS, REQUIRED, URGENCIES, FieldProblem

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
REFRESH_VERB = "refresh"
ESCALATE_VERB = "escalate"
STATUS_BLOCK_ID = "status"  # the card's lines worded by cards/view.py (TextBlock ids)
ASSESSMENT_BLOCK_ID = "assessment"
TARGET_FIELD = "target"
# Teams' people picker: search the whole organisation (supported in dialogs); submits the chosen
# user's Entra (AAD) object id.
PEOPLE_DATASET = "graph.microsoft.com/users"

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()#+!|>~])")
_LIST_START = re.compile(r"(?m)^(\s*)(\d+)\.(\s)")
_DASH_START = re.compile(r"(?m)^(\s*)-(\s)")


def _escape(text: str) -> str:
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", neutralize_mentions(text))
    text = _LIST_START.sub(r"\1\2\\.\3", text)
    return _DASH_START.sub(r"\1\\-\2", text)


# Teams' words for each cards.messages.HINTS action.
HINTS = {
    "escalate": 'say "escalate" to Handoff in a chat',
    "list": "the escalation channel",
    "set_channel": 'say "@Handoff use this channel" in the channel that should get escalation cards',
    "use_this_channel": 'say "@Handoff use this channel" in the channel that should get escalation cards',
    "make_role": 'say "@Handoff make @Name engineer" (or viewer, or admin)',
    "stats": 'say "stats" (or "stats 30d") to Handoff',
    "settings": 'say "settings" to Handoff',
    "home": "the escalation channel",
    "invite": "Ask a Teams owner to add Handoff to that channel's team",
    "allow_emails": "ask a Teams admin to let Handoff read the team's members (its app must stay in the team)",
}


def _notice(stored: str) -> str:
    """The card's footer line (cards/psa_messages.card_notice), in Teams' phrases."""
    return worded(card_notice(stored), hints=HINTS, escape=escape_markdown)


def escape_markdown(text: str, limit: int = TEAMS_TEXT_BLOCK) -> str:
    """Untrusted text -> TextBlock markdown that shows it literally, pings nobody and fits `limit`."""
    escaped = _escape(text)
    keep = len(text)
    while len(escaped) > limit:  # escaping lengthens text: cut the source, not an escape sequence
        keep = min(keep - 1, keep * limit // len(escaped))
        escaped = _escape(truncate(text, keep))
    return escaped


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_CONTENT_TYPE, "content": card}


def _card(body: list[dict], actions: list[dict] | None = None, **extra: Any) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        card["actions"] = actions
    card.update(extra)
    return card


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _section(label: str, value: str) -> list[dict]:
    if not value.strip():
        return []
    return [_text(f"**{label}**", spacing="Medium"), _text(escape_markdown(value))]


def _facts(view: CardView) -> dict[str, Any]:
    facts = [
        ("Urgency", view.urgency_label),
        ("Escalated by", f"{view.author.name}, {view.escalated_ago}"),
        ("Ticket", view.ticket),
        ("Domain", view.domain),
    ]
    return {
        "type": "FactSet",
        "facts": [{"title": t, "value": escape_markdown(v, 400)} for t, v in facts if v],
    }


def teams_time(when: datetime) -> str:
    """A time each reader sees in their own time zone (Adaptive Cards' TIME() function, in a TextBlock)."""
    return f"{{{{TIME({when.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})}}}}"


def line_markdown(line: Line) -> str:
    """A card line (cards/view.py decides its words) as TextBlock markdown: a name in bold, a time the reader's."""
    return render_line(line, text=escape_markdown, name=lambda p: f"**{escape_markdown(p.name, 200)}**",
                       strong=lambda t: f"**{escape_markdown(t)}**", time=teams_time)


def _bullets(items: tuple[str, ...]) -> str:
    each = TEAMS_TEXT_BLOCK // max(1, len(items)) - 3  # the whole list is one TextBlock
    return "\n".join(f"- {escape_markdown(item, each)}" for item in items)


def _assessment(a: AssessmentView) -> list[dict]:
    blocks = [_text(line_markdown(a.heading), id=ASSESSMENT_BLOCK_ID, spacing="Medium")]
    if a.state == "pending":
        return blocks
    if a.summary:
        blocks += [_text(ASSESSMENT_SUMMARY, weight="Bolder", size="Small"), _text(escape_markdown(a.summary))]
    if a.likely_causes:
        blocks += [_text(LIKELY_CAUSES, weight="Bolder", size="Small"), _text(_bullets(a.likely_causes))]
    if a.next_steps:
        blocks += [_text(NEXT_STEPS, weight="Bolder", size="Small"), _text(_bullets(a.next_steps))]
    if a.note:
        blocks.append(_text(escape_markdown(a.note), isSubtle=True, size="Small"))
    if a.updated:
        blocks.append(_text(line_markdown(a.updated), id=f"{ASSESSMENT_BLOCK_ID}_updated", isSubtle=True, size="Small"))
    return blocks


def _status(view: CardView) -> dict[str, Any]:
    """The card's status line, the same words as Slack's (cards/view.CardView.status_line)."""
    block = _text(line_markdown(view.status_line), id=STATUS_BLOCK_ID, spacing="Medium")
    return {**block, "color": "Good"} if view.status == "claimed" else block


def executes(buttons: tuple[Button, ...], **data: str) -> list[dict[str, Any]]:
    """Buttons as the card's Action.Execute actions; `data`: what else each click carries (a message's
    buttons say which message they sit on, so the click is answered in that message's place)."""
    return [a for b in buttons for a in _executes(b, data)]


def _executes(button: Button, data: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A button, or one button per choice (the click's data carries the choice's key)."""
    if not button.choices:
        return [_execute(button, data)]
    return [{"type": "Action.Execute", "title": c.label, "verb": button.action,
             "data": {"handoff_id": button.value, "choice": c.key, **(data or {})}} for c in button.choices]


def _execute(button: Button, data: dict[str, str] | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "Action.Execute",
        "title": button.label,
        "verb": button.action,
        "data": {"handoff_id": button.value, **(data or {})},
    }
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def escalation_card(view: CardView, *, owner_view: bool = False) -> dict[str, Any]:
    """The card in the escalation channel. Everyone sees Pick Up while it is open; once claimed,
    only the owner's view (`owner_view`, fetched through a user-specific refresh) has Release
    and Resolve, so nobody else is offered buttons that would only refuse them."""
    body = [
        _text(f"🚨 {escape_markdown(view.title, 240)}", weight="Bolder", size="Medium"),
        _facts(view),
        *_section(FIELD_LABELS["summary"], view.summary),
        *_section(FIELD_LABELS["tried"], view.tried),
        *_section(FIELD_LABELS["notes"], view.notes),
        *_section(FIELD_LABELS["source_link"], view.source_link),
        *_assessment(view.assessment),
        _status(view),
        *([_text(f"⚠️ {_notice(view.notice)}", isSubtle=True, size="Small")] if view.notice else []),
    ]
    extra: dict[str, Any] = {}
    buttons = view.buttons
    if view.status == "claimed" and view.claimed_by is not None:
        extra["refresh"] = {
            "action": {"type": "Action.Execute", "verb": REFRESH_VERB, "data": {"handoff_id": view.handoff_id}},
            "userIds": [view.claimed_by.external_id],
        }
        if not owner_view:
            buttons = ()
    card = _card(body, executes(buttons), **extra)
    return fit(card)


def fit(card: dict[str, Any]) -> dict[str, Any]:
    """Keep a card inside the activity size limit by shortening its longest text blocks."""
    while len(json.dumps(card, ensure_ascii=False).encode()) > TEAMS_CARD_BYTES:
        blocks = [b for b in card["body"] if b.get("type") == "TextBlock"]
        longest = max(blocks, key=lambda b: len(b["text"]))
        if len(longest["text"]) < 100:
            break
        longest["text"] = truncate(longest["text"], len(longest["text"]) // 2)
    return card


# --- the dialog (task module) and its launcher -----------------------------------------


def notice_card(text: str) -> dict[str, Any]:
    """A card that only says `text`, with no button (a retired copy of an escalation card)."""
    return _card([_text(text)])


def launcher_card(text: str) -> dict[str, Any]:
    """The reply to "escalate": `text` and one button that opens the escalation dialog."""
    return _card(
        [_text(text)],
        [{"type": "Action.Submit", "title": "Escalate", "data": {"msteams": {"type": "task/fetch"}, "verb": ESCALATE_VERB}}],
    )


def _input(name: str, value: str, error: str | None, *, multiline: bool = False, placeholder: str = "") -> list[dict]:
    required, limit = FIELD_LIMITS[name]
    field: dict[str, Any] = {
        "type": "Input.Text",
        "id": name,
        "label": FIELD_LABELS[name],
        "value": strip_controls(value),
        "maxLength": limit,
        "isMultiline": multiline,
        "isRequired": required,
    }
    if placeholder:
        field["placeholder"] = placeholder
    if required:
        field["errorMessage"] = field_error_text(FieldProblem(name, REQUIRED))
    blocks = [field]
    if error:
        blocks.append(_text(escape_markdown(error, 400), color="Attention", size="Small", spacing="None"))
    return blocks


def _people_picker(value: str, error: str | None) -> list[dict]:
    """'Send to (optional)', like Slack's users_select: one senior to notify directly. `value` (an
    object id) pre-selects them, so a dialog re-shown with errors keeps the choice."""
    picker: dict[str, Any] = {
        "type": "Input.ChoiceSet",
        "id": TARGET_FIELD,
        "label": "Send to (optional)",
        "placeholder": "Choose a senior",
        "isMultiSelect": False,
        "choices": [],
        "choices.data": {"type": "Data.Query", "dataset": PEOPLE_DATASET},
    }
    if value:
        picker["value"] = value
    blocks = [picker, _text("A senior to notify directly. Anyone can still pick it up.", isSubtle=True,
                            size="Small", spacing="None")]
    if error:
        blocks.append(_text(escape_markdown(error, 400), color="Attention", size="Small", spacing="None"))
    return blocks


def escalation_form(
    *,
    dialog: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """The escalation dialog: the same fields as Slack's modal. `dialog` is a token that makes a
    double submit of one dialog create one handoff; excerpt and source link ride along as data.
    `notice` (what went wrong, what to do) shows at the top."""
    values, errors = values or {}, errors or {}
    body: list[dict] = []
    if notice:
        body.append(_text(escape_markdown(notice, 600), color="Attention", weight="Bolder"))
    body += _input("summary", values.get("summary", ""), errors.get("summary"), multiline=True,
                   placeholder="What is broken, for whom, since when")
    body += _input("tried", values.get("tried", ""), errors.get("tried"), multiline=True)
    body.append({
        "type": "Input.ChoiceSet",
        "id": "urgency",
        "label": FIELD_LABELS["urgency"],
        "value": values.get("urgency") or "normal",
        "choices": [{"title": u.capitalize(), "value": u} for u in URGENCIES],
    })
    if errors.get("urgency"):
        body.append(_text(escape_markdown(errors["urgency"], 400), color="Attention", size="Small"))
    body += _input("ticket", values.get("ticket", ""), errors.get("ticket"))
    body += _people_picker(values.get(TARGET_FIELD, ""), errors.get(TARGET_FIELD))
    body += _input("domain", values.get("domain", ""), errors.get("domain"), placeholder="Exchange, networking, M365…")
    body += _input("notes", values.get("notes", ""), errors.get("notes"), multiline=True)
    if values.get("source_link"):
        body.append(_text(f"From message: {escape_markdown(values['source_link'], 600)}", isSubtle=True, size="Small"))
    for name in ("excerpt", "source_link"):
        if errors.get(name):
            body.append(_text(escape_markdown(errors[name], 400), color="Attention", size="Small"))
    carried = {"dialog": dialog, "excerpt": values.get("excerpt", ""), "source_link": values.get("source_link", "")}
    return _card(body, [{"type": "Action.Submit", "title": "Escalate", "data": carried}])


def dialog_response(card: dict[str, Any], *, title: str = "Escalate to a senior") -> dict[str, Any]:
    """A task module answer that shows (or re-shows, with errors) a card in the dialog."""
    return {
        "task": {
            "type": "continue",
            "value": {"title": title, "width": "medium", "height": "large", "card": attachment(card)},
        }
    }


def dialog_message(text: str) -> dict[str, Any]:
    """A task module answer that closes the form and shows a short message."""
    return {"task": {"type": "message", "value": truncate(neutralize_mentions(text), 500)}}


# --- Universal Action answers --------------------------------------------------------


def card_response(card: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": card}


def message_response(text: str) -> dict[str, Any]:
    """Shown to the clicker only; the card stays as it is."""
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}
