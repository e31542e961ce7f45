"""What an escalation says about the problem, and the limits on each field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from core.text import strip_controls

URGENCIES = ("low", "normal", "high", "critical")

# field -> (required, max characters). Slack modal inputs allow 3,000 characters at most.
FIELD_LIMITS: dict[str, tuple[bool, int]] = {
    "summary": (True, 2000),
    "tried": (False, 3000),
    "notes": (False, 3000),
    "ticket": (False, 100),
    "domain": (False, 100),
    "excerpt": (False, 12000),
    "source_link": (False, 2000),
}
FIELD_LABELS = {
    "summary": "Problem summary",
    "tried": "What I've tried",
    "notes": "Notes",
    "urgency": "Urgency",
    "ticket": "Ticket reference",
    "domain": "Problem domain",
    "excerpt": "Conversation excerpt",
    "source_link": "Source link",
}


@dataclass(frozen=True)
class Snapshot:
    summary: str
    tried: str = ""
    notes: str = ""
    urgency: str = "normal"
    ticket: str = ""
    domain: str = ""
    excerpt: str = ""
    source_link: str = ""
    # Set at submit by a PSA's ticket check (never typed by the user): "checked" with the ticket's
    # title and company, or "not_checked" when the PSA did not answer in time.
    ticket_status: str = ""
    ticket_title: str = ""
    ticket_company: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# What can be wrong with a field (cards/messages.field_error says it in words, on both platforms).
REQUIRED, TOO_LONG, NOT_ONE_OF, UNKNOWN = "required", "too_long", "not_one_of", "unknown"


@dataclass(frozen=True)
class FieldProblem:
    """One field's problem as values: which field, what is wrong, and the figures a person needs."""

    field: str
    code: str  # REQUIRED | TOO_LONG | NOT_ONE_OF | UNKNOWN
    limit: int = 0  # TOO_LONG: the most characters allowed
    length: int = 0  # TOO_LONG: how many there were
    choices: tuple[str, ...] = ()  # NOT_ONE_OF: the values allowed


@dataclass(frozen=True)
class Invalid:
    """Validation failed; `errors` maps each bad field to its problem. A `str` is a reason already worded
    by an integration (a PSA's word on a ticket reference)."""

    errors: dict[str, FieldProblem | str]


def validate_snapshot(fields: dict[str, Any]) -> Snapshot | Invalid:
    """Check user input against the limits; never raises for bad input."""
    errors: dict[str, FieldProblem | str] = {}
    clean: dict[str, str] = {}
    for name, (required, limit) in FIELD_LIMITS.items():
        raw = fields.get(name)
        value = strip_controls("" if raw is None else str(raw)).strip()  # no NUL, no U+202E, stored or shown
        if required and not value:
            errors[name] = FieldProblem(name, REQUIRED)
        elif len(value) > limit:
            errors[name] = FieldProblem(name, TOO_LONG, limit=limit, length=len(value))
        clean[name] = value
    urgency = str(fields.get("urgency") or "normal").strip().lower()
    if urgency not in URGENCIES:
        errors["urgency"] = FieldProblem("urgency", NOT_ONE_OF, choices=URGENCIES)
    unknown = set(fields) - set(FIELD_LIMITS) - {"urgency"}
    for name in sorted(unknown):
        errors[name] = FieldProblem(name, UNKNOWN)
    if errors:
        return Invalid(errors)
    return Snapshot(urgency=urgency, **clean)


# A check an integration makes of a submitted snapshot (the PSA's word on its ticket, bot/services.py):
# the snapshot with what it learned, or the fields' errors. Adapters call it before they create.
CheckTicket = Callable[[Any, Snapshot], Awaitable[Snapshot | Invalid]]
