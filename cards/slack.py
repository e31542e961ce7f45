"""Slack Block Kit for the escalation card (messages are in cards/slack_messages.py). Pure: CardView in, JSON out.

User and model text travels in rich_text / plain_text elements, which Slack never parses, so
`*bold*`, `<!channel>` and `<http://x|links>` stay literal. Where text must be mrkdwn (fallback
`text`, context lines) it goes through `escape_mrkdwn`. Every limit comes from cards.limits.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from cards.limits import (
    SLACK_BUTTON_TEXT,
    SLACK_BUTTON_VALUE,
    SLACK_CONTEXT_TEXT,
    SLACK_FALLBACK_TEXT,
    SLACK_HEADER_TEXT,
    SLACK_MAX_BLOCKS,
    SLACK_OPTION_TEXT,
    SLACK_OPTION_VALUE,
    SLACK_SECTION_TEXT,
    truncate,
)
from core.text import neutralize_mentions
from cards.parts import Line, render_line, utc_time
from cards.view import (
    ASSESSMENT_SUMMARY,
    LIKELY_CAUSES,
    NEXT_STEPS,
    AssessmentView,
    Button,
    CardView,
    PersonView,
)
from core.snapshot import FIELD_LABELS
from cards.messages import worded
from cards.psa_messages import card_notice

Block = dict[str, Any]

ACTIONS_BLOCK_ID = "handoff_actions"
STATUS_BLOCK_ID = "handoff_status"  # the card's lines worded by cards/view.py, found by the parity tests
ASSESSMENT_BLOCK_ID = "handoff_assessment"
URGENCY_MARKS = {"low": "⚪", "normal": "🔵", "high": "🟠", "critical": "🔴"}


# Slack's words for each cards.messages.HINTS action.
HINTS = {
    "escalate": "run `/escalate`",
    "list": "`/escalate list`",
    "set_channel": "run `/escalate setup` to choose the escalation channel",
    "use_this_channel": "run `/escalate setup` to choose the escalation channel",
    "make_role": "run `/escalate role @name engineer` (or viewer, or admin)",
    "stats": "run `/escalate stats` (or `/escalate stats 30d`)",
    "settings": "run `/escalate setup` (or open Handoff's App Home, Settings)",
    "home": "Handoff's App Home",
    "invite": "Run `/invite @Handoff` in that channel",
    "allow_emails": "add the users:read.email scope to the app (api.slack.com/apps, OAuth & Permissions) and reinstall it",
}


def escape_mrkdwn(text: str) -> str:
    """Make untrusted text literal inside mrkdwn: Slack's three control characters, then broadcasts."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return neutralize_mentions(escaped)


def mention(person: PersonView) -> str:
    """A user mention (renders as @name and pings that one person, never a group)."""
    user_id = "".join(ch for ch in person.external_id if ch.isalnum() or ch in "-_")
    return f"<@{user_id}>" if user_id else escape_mrkdwn(person.name)


def slack_date(when: datetime, fallback: str) -> str:
    """A timestamp each reader sees in their own time zone."""
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{escape_mrkdwn(fallback)}>"


def action_id(action: str) -> str:
    return f"handoff_{action}"


# --- block helpers ---------------------------------------------------------------------------


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def mrkdwn(text: str, limit: int = SLACK_SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, SLACK_HEADER_TEXT)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text, SLACK_CONTEXT_TEXT)]}


def _rich_text(label: str) -> dict[str, Any]:
    return {"type": "text", "text": label}


def rich_section(label: str, body: str) -> Block:
    """A bold label over literal user text (rich_text elements are never parsed as markup)."""
    return {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": f"{label}\n", "style": {"bold": True}},
                    _rich_text(truncate(body, SLACK_SECTION_TEXT)),
                ],
            }
        ],
    }


def rich_list(label: str, items: tuple[str, ...], *, style: str = "bullet") -> Block:
    return {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [{"type": "text", "text": label, "style": {"bold": True}}],
            },
            {
                "type": "rich_text_list",
                "style": style,
                "elements": [
                    {"type": "rich_text_section", "elements": [_rich_text(item)]} for item in items
                ],
            },
        ],
    }


def button(b: Button) -> dict[str, Any]:
    if b.choices:  # a menu: the chosen option's value is "<handoff id>|<choice key>"
        return {
            "type": "static_select",
            "action_id": action_id(b.action),
            "placeholder": plain(b.label, SLACK_OPTION_TEXT),
            "options": [{"text": plain(c.label, SLACK_OPTION_TEXT), "value": f"{b.value}|{c.key}"[:SLACK_OPTION_VALUE]}
                        for c in b.choices],
        }
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id(b.action),
        "text": plain(b.label, SLACK_BUTTON_TEXT),
        "value": b.value[:SLACK_BUTTON_VALUE],
    }
    if b.style:
        element["style"] = b.style
    return element


def actions(buttons: tuple[Button, ...], *, block_id: str = ACTIONS_BLOCK_ID) -> list[Block]:
    if not buttons:
        return []
    return [{"type": "actions", "block_id": block_id, "elements": [button(b) for b in buttons]}]


# --- the escalation card -------------------------------------------------------------------------


def meta_line(view: CardView) -> str:
    mark = URGENCY_MARKS.get(view.urgency, "")
    parts = [
        f"{mark} *{escape_mrkdwn(view.urgency_label)}* urgency".strip(),
        f"escalated by {mention(view.author)} {slack_date(view.escalated_at, view.escalated_ago)}",
    ]
    if view.ticket:
        parts.append(f"ticket {escape_mrkdwn(view.ticket)}")
    if view.domain:
        parts.append(escape_mrkdwn(view.domain))
    return " · ".join(parts)


def slack_time(when: datetime) -> str:
    """A time each reader sees in their own time zone (UTC in the fallback)."""
    return f"<!date^{int(when.timestamp())}^{{time}}|{utc_time(when)}>"


def line_mrkdwn(line: Line) -> str:
    """A card line (cards/view.py decides its words) as mrkdwn: a name is the user's mention, a time the reader's."""
    return render_line(line, text=escape_mrkdwn, name=mention, strong=lambda t: f"*{escape_mrkdwn(t)}*",
                       time=slack_time)


def assessment_blocks(a: AssessmentView) -> list[Block]:
    blocks: list[Block] = [{**context(line_mrkdwn(a.heading)), "block_id": ASSESSMENT_BLOCK_ID}]
    if a.state == "pending":
        return blocks
    if a.summary:
        blocks.append(rich_section(ASSESSMENT_SUMMARY, a.summary))
    if a.likely_causes:
        blocks.append(rich_list(LIKELY_CAUSES, a.likely_causes))
    if a.next_steps:
        blocks.append(rich_list(NEXT_STEPS, a.next_steps, style="ordered"))
    if a.note:
        blocks.append(context(f"_{escape_mrkdwn(a.note)}_"))
    if a.updated:
        blocks.append({**context(f"_{line_mrkdwn(a.updated)}_"), "block_id": f"{ASSESSMENT_BLOCK_ID}_updated"})
    return blocks


def card_blocks(view: CardView) -> list[Block]:
    blocks: list[Block] = [
        header(f"🆘 {view.title}"),
        context(meta_line(view)),
        rich_section(FIELD_LABELS["summary"], view.summary),
    ]
    if view.tried:
        blocks.append(rich_section(FIELD_LABELS["tried"], view.tried))
    if view.notes:
        blocks.append(rich_section(FIELD_LABELS["notes"], view.notes))
    if view.source_link.startswith(("https://", "http://")):
        blocks.append(context(f"<{view.source_link.replace('|', '%7C').replace('>', '%3E')}|Original conversation>"))
    blocks.append({"type": "divider"})
    blocks.extend(assessment_blocks(view.assessment))
    blocks.append({"type": "divider"})
    blocks.append({**context(line_mrkdwn(view.status_line)), "block_id": STATUS_BLOCK_ID})
    if view.notice:
        blocks.append(context(f"⚠️ {worded(card_notice(view.notice), hints=HINTS, escape=escape_mrkdwn)}"))
    blocks.extend(actions(view.buttons))
    return blocks[:SLACK_MAX_BLOCKS]


def card_fallback_text(view: CardView) -> str:
    """The notification / screen-reader text: always set, always mrkdwn-safe."""
    state = f" (picked up by {escape_mrkdwn(view.claimed_by.name)})" if view.claimed_by else ""
    text = f"Escalation [{view.urgency_label}]: {escape_mrkdwn(view.title)}{state}"
    return truncate(text, SLACK_FALLBACK_TEXT)


def card_message(view: CardView) -> dict[str, Any]:
    """Arguments for chat.postMessage / chat.update (minus channel and ts)."""
    return {"text": card_fallback_text(view), "blocks": card_blocks(view)}


def block_kit_builder_url(blocks: list[Block]) -> str:
    """A link that opens these blocks in Slack's Block Kit Builder."""
    return "https://app.slack.com/block-kit-builder/#" + quote(json.dumps({"blocks": blocks}, separators=(",", ":"), ensure_ascii=False))
