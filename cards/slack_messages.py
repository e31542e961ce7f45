"""cards.messages.Message -> Slack. Pure: renders what the message says, decides nothing.

mrkdwn for messages (every part escaped; a Mention is `<@U…>`, a Name is the escaped name); plain text
for places that take no markup (modal errors, plain_text blocks).
"""

from __future__ import annotations

from typing import Any

from cards.limits import SLACK_FALLBACK_TEXT, SLACK_SECTION_TEXT, truncate
from cards import messages
from cards.messages import Channel, Hint, Link, Mention, Message, Name, Part, Strong
from cards.parts import Time, utc_time
from cards.slack import HINTS, Block, actions, context, escape_mrkdwn, mention, mrkdwn, rich_list, slack_time
from core.snapshot import FieldProblem
from core.text import neutralize_mentions

CHECKBOX = "☐"


def _safe_url(url: str) -> str | None:
    if not url.startswith(("https://", "http://")):
        return None
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


def _part(part: Part) -> str:
    if isinstance(part, str):
        return escape_mrkdwn(part)
    if isinstance(part, Mention):
        return mention(part.person)
    if isinstance(part, Name):
        return escape_mrkdwn(part.person.name)
    if isinstance(part, Strong):
        return f"*{escape_mrkdwn(part.text)}*" if part.text.strip() else ""
    if isinstance(part, Link):
        url = _safe_url(part.url)
        return f"<{url}|{escape_mrkdwn(part.label)}>" if url else escape_mrkdwn(part.label)
    if isinstance(part, Channel):
        channel = "".join(ch for ch in part.id if ch.isalnum() or ch in "-_")
        return f"<#{channel}>" if channel else "the escalation channel"
    if isinstance(part, Hint):
        return HINTS[part.action]
    if isinstance(part, Time):
        return slack_time(part.at)
    raise TypeError(f"not a message part: {part!r}")


def _plain_part(part: Part) -> str:
    if isinstance(part, (Mention, Name)):
        return part.person.name
    if isinstance(part, Strong):
        return part.text
    if isinstance(part, Link):
        return part.label
    if isinstance(part, Channel):
        return "the escalation channel"
    if isinstance(part, Hint):
        return HINTS[part.action].replace("`", "")
    if isinstance(part, Time):
        return utc_time(part.at)
    return part


def paragraphs_mrkdwn(message: Message) -> str:
    return "\n\n".join("".join(_part(p) for p in paragraph) for paragraph in message.paragraphs)


def plain_text(message: Message) -> str:
    """For Slack fields that take no markup (modal errors): names, no mentions, no links."""
    return neutralize_mentions("\n\n".join("".join(_plain_part(p) for p in par) for par in message.paragraphs))


def field_errors(errors: dict[str, FieldProblem | str]) -> dict[str, str]:
    """A form's field problems as Slack shows them under the modal's inputs (`response_action: errors`)."""
    return {name: plain_text(message) for name, message in messages.field_errors(errors).items()}


def render(message: Message) -> dict[str, Any]:
    """chat.postMessage / chat.postEphemeral / response_url arguments: `text`, and blocks for a checklist."""
    lead = paragraphs_mrkdwn(message)
    if not message.items and not message.footnotes and not message.buttons:
        return {"text": truncate(lead, SLACK_FALLBACK_TEXT)}
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(lead, SLACK_SECTION_TEXT)}]
    if message.items:
        mark = f"{CHECKBOX} " if message.checkboxes else ""
        blocks.append(rich_list(message.items_label, tuple(f"{mark}{neutralize_mentions(item)}" for item in message.items)))
    blocks += [context(f"_{escape_mrkdwn(note)}_") for note in message.footnotes]
    blocks += actions(message.buttons, block_id=f"handoff_{message.kind}")
    fallback = lead + (" " + "; ".join(escape_mrkdwn(item) for item in message.items) if message.items else "")
    return {"text": truncate(fallback, SLACK_FALLBACK_TEXT), "blocks": blocks}
