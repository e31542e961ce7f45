"""cards.messages.Message -> Teams. Pure: renders what the message says, decides nothing.

Chat messages (thread replies, direct messages) are Teams markdown with `<at>Name</at>` mentions, each
backed by a mention entity the caller attaches; card-action answers and dialog messages are plain text
(Teams shows them as-is). Every part passes through neutralize_mentions, so quoting a name pings nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from cards import messages
from cards.messages import Channel, Hint, Link, Mention, Message, Name, Part, Strong
from cards.parts import Time, utc_time
from cards.teams import HINTS, escape_markdown
from cards.view import PersonView
from core.snapshot import FieldProblem
from core.text import neutralize_mentions

CHECKBOX = "☐"


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
