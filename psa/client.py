"""What every PSA client offers the note jobs and the ticket check, and the values it hands back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TicketRef:
    """A ticket reference as the PSA takes it: its internal id, or its displayed number."""

    kind: str  # "id" | "number"
    value: str


@dataclass(frozen=True)
class BadRef:
    """The reference cannot be a ticket of this PSA (what its form looks like is said by the ticket field's
    error, cards/psa_messages.py); `max_digits`: the longest number it takes."""

    max_digits: int = 10


@dataclass(frozen=True)
class Ticket:
    id: str
    number: str
    title: str
    company: str
    closed: bool


class PsaClient(Protocol):
    vendor: str
    note_limit: int  # characters the PSA accepts in one note

    def parse_ref(self, text: str) -> TicketRef | BadRef: ...

    async def find_ticket(self, ref: TicketRef) -> Ticket | None:
        """The ticket, or None when the PSA has no such ticket."""

    async def add_note(self, ticket_id: str, text: str) -> str:
        """Write an internal note; returns the PSA's note id."""

    async def find_note(self, ticket_id: str, marker: str) -> str | None:
        """The id of a note on the ticket whose text contains `marker` (after a lost answer)."""

    async def assign(self, ticket_id: str, email: str) -> bool:
        """Make the PSA member with this email the ticket's owner; False when no member has it."""


def digits_ref(text: str, *, vendor: str, max_digits: int = 10) -> TicketRef | BadRef:
    """ConnectWise and Halo tickets are numbered with digits ("#123456" works too)."""
    value = text.strip().removeprefix("#")
    if value.isascii() and value.isdigit() and len(value) <= max_digits and int(value) > 0:
        return TicketRef("id", str(int(value)))
    return BadRef(max_digits)
