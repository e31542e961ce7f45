"""cards.messages.Message -> Teams. Pure: renders what the message says, decides nothing.

Chat messages (thread replies, direct messages) are Teams markdown with `<at>Name</at>` mentions, each
backed by a mention entity the caller attaches; card-action answers and dialog messages are plain text
(Teams shows them as-is). Every part passes through neutralize_mentions, so quoting a name pings nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cards import messages
from cards.messages import Channel, Hint, Link, Mention, Message, Name, Part, Strong
from cards.limits import TEAMS_TEXT_BLOCK, truncate
from cards.parts import Time, utc_time
from cards.teams import HINTS, _card, _text, escape_markdown, executes, fit
from cards.view import PersonView
from core.snapshot import FieldProblem
from core.text import neutralize_mentions

CHECKBOX = "☐"
# In the data of a message's buttons: which message (its kind) was clicked, so the click is answered in that
# message's place, never taken for a click on the escalation card (or on a copy of it).
MESSAGE_FIELD = "message"


@dataclass(frozen=True)
class TeamsText:
    text: str
    mentions: tuple[tuple[PersonView, str], ...]  # (person, the exact `<at>…</at>` tag in text)


def mention_tag(person: PersonView) -> str:
    return f"<at>{neutralize_mentions(person.name or 'you')}</at>"


def _plain_part(part: Part) -> str:
    if isinstance(part, str):
        return neutralize_mentions(part)
    if isinstance(part, (Mention, Name)):
        return neutralize_mentions(part.person.name)
    if isinstance(part, Strong):
        return neutralize_mentions(part.text)
    if isinstance(part, Link):
        label = neutralize_mentions(part.label)
        return f"{label}: {part.url}" if part.url.startswith(("https://", "http://")) else label
    if isinstance(part, Channel):
        return "the escalation channel"
    if isinstance(part, Hint):
        return HINTS[part.action]
    if isinstance(part, Time):  # chat text has no reader's time zone: UTC, said so
        return utc_time(part.at)
    raise TypeError(f"not a message part: {part!r}")


def plain_text(message: Message) -> str:
    """For card-action answers and dialog messages: plain text, names instead of mentions."""
    return "\n\n".join("".join(_plain_part(p) for p in paragraph) for paragraph in message.paragraphs)


def summary(message: Message) -> str:
    """A card message's preview (an activity's `summary`, shown in notifications): its first paragraph, plain."""
    first = message.paragraphs[0] if message.paragraphs else ()
    return truncate("".join(_plain_part(p) for p in first), TEAMS_TEXT_BLOCK)


def field_errors(errors: dict[str, FieldProblem | str]) -> dict[str, str]:
    """A form's field problems as the Teams dialog shows them under its inputs (cards.teams.escalation_form)."""
    return {name: plain_text(message) for name, message in messages.field_errors(errors).items()}


def _chat_part(part: Part) -> str:
    if isinstance(part, Mention):
        return mention_tag(part.person)
    if isinstance(part, Strong):
        return f"**{escape_markdown(part.text, 400)}**" if part.text.strip() else ""
    if isinstance(part, Link) and part.url.startswith(("https://", "http://")):
        return f"[{escape_markdown(part.label, 200)}]({part.url.replace(')', '%29').replace(' ', '%20')})"
    return _plain_part(part)


def chat(message: Message, *, mentions: bool = True) -> TeamsText:
    """A chat message: markdown text plus the mentions it carries. `mentions=False` (a direct message
    to someone else): mentioned people are named instead."""
    def part(p: Part) -> str:
        return _chat_part(p) if mentions or not isinstance(p, Mention) else _plain_part(p)

    lines = ["".join(part(p) for p in paragraph) for paragraph in message.paragraphs]
    if message.items:
        mark = f"{CHECKBOX} " if message.checkboxes else ""
        steps = "\n".join(f"- {mark}{escape_markdown(item, 400)}" for item in message.items)
        lines.append(f"**{message.items_label}**\n\n{steps}" if message.items_label else steps)
    lines += [f"_{escape_markdown(note, 400)}_" for note in message.footnotes]
    people = message.people if mentions else ()
    return TeamsText("\n\n".join(lines), tuple((p, mention_tag(p)) for p in people))


def card(message: Message, *, mentions: bool = True) -> dict[str, Any]:
    """A message that carries buttons, as an Adaptive Card (a Teams chat message shows no buttons): the
    words as chat() renders them, a TextBlock a paragraph, mentions as the card's own mention entities;
    the buttons as the escalation card draws them (Action.Execute, same verbs and data), each also
    saying which message it sits on."""
    said = chat(message, mentions=mentions)
    body = [_text(paragraph) for paragraph in said.text.split("\n\n") if paragraph.strip()]
    extra: dict[str, Any] = {}
    if said.mentions:
        extra["msteams"] = {"entities": [
            {"type": "mention", "text": tag, "mentioned": {"id": person.external_id, "name": person.name}}
            for person, tag in said.mentions]}
    return fit(_card(body, executes(message.buttons, **{MESSAGE_FIELD: message.kind}), **extra))
