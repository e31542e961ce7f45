"""The parts every message and card line is made of, for both platforms. Pure.

A view (cards/view.py's card lines, cards/messages.py's messages) decides the words as a sequence of parts;
each platform's renderer only turns a part into its markup: escaping, how a person is named or mentioned,
how a time is shown to the reader. Plain `str` parts are our words or user text alike: every renderer
escapes every part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime



@dataclass(frozen=True)
class PersonView:
    external_id: str  # the id to mention them by (Person.address)
    name: str


@dataclass(frozen=True)
class Mention:
    """Pings this one person where the platform can; elsewhere it is their name."""

    person: PersonView


@dataclass(frozen=True)
class Name:
    """Names a person without pinging them (a winner named to 20 losers is not pinged 20 times). On a card
    Slack shows it as the user's mention (their current name; an edited card pings nobody), Teams in bold."""

    person: PersonView


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True)
class Channel:
    """The escalation channel (a Slack channel id, a Teams channel id)."""

    id: str


@dataclass(frozen=True)
class Hint:
    """How to do something, in the platform's own words: see cards/messages.HINTS."""

    action: str


@dataclass(frozen=True)
class Time:
    """A time of day, shown in each reader's own time zone where the platform can (UTC where it cannot)."""

    at: datetime


Part = str | Mention | Name | Strong | Link | Channel | Hint | Time
Paragraph = tuple[Part, ...]
Line = Paragraph  # one line of a card


def render_line(line: Line, *, text: Callable[[str], str], name: Callable[[PersonView], str],
                strong: Callable[[str], str], time: Callable[[datetime], str]) -> str:
    """A card line in one platform's markup: each part through that platform's way of showing it (a Name and a
    Mention alike: a card line pings nobody it would not anyway)."""
    def part(p: Part) -> str:
        if isinstance(p, str):
            return text(p)
        if isinstance(p, (Name, Mention)):
            return name(p.person)
        if isinstance(p, Strong):
            return strong(p.text)
        if isinstance(p, Time):
            return time(p.at)
        raise TypeError(f"not a card line part: {p!r}")
    return "".join(part(p) for p in line)


def utc_time(at: datetime) -> str:
    """A Time as text where no reader's zone is known: '09:30 UTC'."""
    return f"{at:%H:%M} UTC"
