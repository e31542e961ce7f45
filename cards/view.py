"""The platform-neutral view model: handoff state -> what any card shows. Pure."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cards.limits import CARD_LINK_CHARS, CARD_SECTIONS_TEXT
from cards.parts import Line, Name, PersonView, Strong, Time
from core.models import HandoffState, Person
from core.schedule import SNOOZE_CHOICES, format_duration
from core.text import FIELD_CHARS, LIST_ITEM_CHARS, MAX_LIST_ITEMS, TITLE_CHARS, strip_controls, truncate

URGENCY_LABELS = {"low": "Low", "normal": "Normal", "high": "High", "critical": "Critical"}
SNOOZE_LABEL = "Snooze…"  # the choices (core/schedule.SNOOZE_CHOICES) say for how long
# The card's own words, the same on Slack and Teams: the renderers lay them out and never word them.
# Its sections are labelled as the form labels its fields (core/snapshot.FIELD_LABELS).
ASSESSMENT_HEADINGS = {"ready": "Assessment", "fallback": "Assessment (fallback, not from the model)"}
ASSESSMENT_PENDING = "Assessing…"
LIKELY_CAUSES = "Likely causes"
NEXT_STEPS = "Suggested next steps"
FALLBACK_REPLACED = "the model's assessment replaced the fallback."
ASSESSMENT_SUMMARY = "Summary"  # the assessment's own summary (the snapshot's is FIELD_LABELS["summary"])
PICK_UP_RULE = "the first to press Pick Up owns it"
STATUS_LABELS = {
    "open": "Waiting for pick-up",
    "claimed": "Picked up",
    "resolved": "Resolved",
    "cancelled": "Cancelled",
}


@dataclass(frozen=True)
class Choice:
    """One option of a button that asks "which?" (how long to snooze): `key` goes back with the click."""

    key: str  # e.g. "30m"
    label: str  # e.g. "Snooze 30 min"


@dataclass(frozen=True)
class Button:
    action: str  # pickup | release | resolve | escalate_now | snooze
    label: str
    value: str  # the handoff id, nothing else
    style: str | None = None  # primary | danger
    # A button with choices is a menu (Slack: a select; Teams: one button per choice); the click carries one key.
    choices: tuple[Choice, ...] = ()


def snooze_button(value: str) -> Button:
    """Snooze, with the lengths the core offers."""
    return Button("snooze", SNOOZE_LABEL, value, choices=tuple(
        Choice(format_duration(length), f"Snooze {short_duration(length.total_seconds())}") for length in SNOOZE_CHOICES))


@dataclass(frozen=True)
class AssessmentView:
    state: str  # pending | ready | fallback
    summary: str = ""
    likely_causes: tuple[str, ...] = ()
    confidence: str = ""
    next_steps: tuple[str, ...] = ()
    note: str = ""  # e.g. "Not from the model: built from the snapshot because ..."
    # The model's answer arrived after the card had shown the fallback: when it replaced it.
    replaced_fallback_at: datetime | None = None

    @property
    def heading(self) -> Line:
        """The assessment's first line: what it is (or that it is coming), and how sure the model is."""
        if self.state == "pending":
            return ("⏳ ", Strong(f"{ASSESSMENT_HEADINGS['ready']}:"), f" {ASSESSMENT_PENDING}")
        head: Line = ("🤖 ", Strong(ASSESSMENT_HEADINGS["ready"])) if self.state == "ready" else \
            ("📋 ", Strong(ASSESSMENT_HEADINGS["fallback"]))
        return (*head, f" · {confidence_words(self.confidence)}") if self.confidence else head

    @property
    def updated(self) -> Line:
        """When the model's answer replaced the fallback (nothing when it did not)."""
        if self.replaced_fallback_at is None:
            return ()
        return ("Updated at ", Time(self.replaced_fallback_at), f": {FALLBACK_REPLACED}")


def confidence_words(level: str) -> str:
    """'confidence high': how the card (and the PSA note) says how sure the model is."""
    return f"confidence {level}"


@dataclass(frozen=True)
class ReminderView:
    """What the card says about reminders: overdue (the last one went unanswered), snoozed, or both."""

    overdue_for: str = ""  # "unclaimed for 1 h" once overdue
    snoozed_until: datetime | None = None  # a snooze not yet ended


@dataclass(frozen=True)
class CardView:
    handoff_id: str
    title: str
    summary: str
    status: str
    status_label: str
    urgency: str
    urgency_label: str
    author: PersonView
    escalated_at: datetime
    escalated_ago: str
    tried: str
    notes: str
    ticket: str
    domain: str
    source_link: str
    assessment: AssessmentView
    claimed_by: PersonView | None
    claim_delay: str | None  # "4 min after escalation"
    buttons: tuple[Button, ...]
    version: int
    reminder: ReminderView | None = None
    notice: str = ""  # an integration's footer line, e.g. "PSA notes stopped: ... (401)"

    @property
    def status_line(self) -> Line:
        """Where the escalation stands, in the card's words: who has it, or who may take it and for how long it
        has waited. Both platforms show this line, only rendering its names and times their own way."""
        if self.status == "claimed" and self.claimed_by is not None:
            return ("✅ Picked up by ", Name(self.claimed_by), *((f" · {self.claim_delay}",) if self.claim_delay else ()))
        if self.status == "resolved":
            return ("🏁 Resolved", *((" by ", Name(self.claimed_by)) if self.claimed_by else ()))
        if self.status == "cancelled":
            return ("✖️ Cancelled by the author",)
        reminder = self.reminder or ReminderView()
        line: Line = ("⏰ ", Strong("Overdue"), f" · {reminder.overdue_for} · {PICK_UP_RULE}") if reminder.overdue_for \
            else (f"🙋 {self.status_label}: {PICK_UP_RULE}",)
        if reminder.snoozed_until is not None:
            line += (" · 🔕 reminders snoozed until ", Time(reminder.snoozed_until))
        return line


def humanize_seconds(seconds: float) -> str:
    """'just now', '1 minute', '3 minutes', '2 hours 5 minutes', '3 days'."""
    s = max(0, int(seconds))
    if s < 45:
        return "less than a minute"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        tail = f" {rest} minute{'s' if rest != 1 else ''}" if rest else ""
        return f"{hours} hour{'s' if hours != 1 else ''}{tail}"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''}"


def ago(then: datetime, now: datetime) -> str:
    text = humanize_seconds((now - then).total_seconds())
    return "just now" if text == "less than a minute" else f"{text} ago"


NO_NAME = "someone"  # a person the platform told us no name for


def person_view(person: Person) -> PersonView:
    """How messages show and address someone: the id the platform mentions them by, and a name (a
    stored name that is only their id, or empty, shows as "someone")."""
    name = strip_controls(person.display_name).strip()
    if name in (person.external_id, person.chat_id):
        name = ""
    return PersonView(external_id=person.address, name=name or NO_NAME)


def _clean(text: str, limit: int) -> str:
    """User or model text as any card shows it: no control or bidi characters (U+202E, NUL), cut to
    size. Renderers still escape for their markup."""
    return truncate(strip_controls(text), limit)


def _items(values: Any) -> tuple[str, ...]:
    if not isinstance(values, (list, tuple)):
        return ()
    return tuple(_clean(str(v).strip(), LIST_ITEM_CHARS) for v in values[:MAX_LIST_ITEMS] if str(v).strip())


def assessment_view(state: HandoffState) -> AssessmentView:
    data = state.assessment or {}
    if state.assessment_state == "pending":
        return AssessmentView(state="pending")
    if not data:  # finished without one (no model configured, or it failed): say so, never "Assessing…" forever
        return AssessmentView(state="fallback", note="No assessment is available for this escalation.")
    from_model = state.assessment_state == "ready" and data.get("source", "model") == "model"
    return AssessmentView(
        state="ready" if from_model else "fallback",
        summary=_clean(str(data.get("summary", "")).strip(), FIELD_CHARS),
        likely_causes=_items(data.get("likely_causes")),
        confidence=strip_controls(str(data.get("confidence", ""))).strip().lower()[:10],
        next_steps=_items(data.get("next_steps")),
        note="" if from_model else _clean(str(data.get("note", "")).strip(), LIST_ITEM_CHARS),
        replaced_fallback_at=_parse_time(data.get("replaced_fallback_at")) if from_model else None,
    )


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def short_duration(seconds: float) -> str:
    """'45 s', '12 min', '1 h', '1 h 30 min', '2 d': for tight spaces on the card."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" + (f" {rest} min" if rest else "")
    return f"{hours // 24} d"


def reminder_view(state: HandoffState, now: datetime) -> ReminderView | None:
    if state.status != "open" or state.intent != "escalate":
        return None
    overdue_for = ""
    if state.overdue_at is not None:
        since = state.reminders_from or state.escalated_at or state.created_at
        overdue_for = f"unclaimed for {short_duration((state.overdue_at - since).total_seconds())}"
    snoozed = state.snoozed_until is not None and state.snoozed_until > now  # an ended snooze is never shown
    if not overdue_for and not snoozed:
        return None
    return ReminderView(overdue_for, state.snoozed_until if snoozed else None)


def buttons_for(state: HandoffState) -> tuple[Button, ...]:
    value = str(state.id)
    if state.intent == "park" and state.status == "open":
        return (Button("escalate_now", "Escalate now", value, "primary"),)
    if state.status == "open":
        return (Button("pickup", "Pick Up", value, "primary"), snooze_button(value))
    if state.status == "claimed":
        return (Button("release", "Release", value), Button("resolve", "Resolve", value, "primary"))
    return ()


def ticket_line(snap) -> str:
    """The ticket as the card shows it: with the PSA's title and company once checked."""
    if snap.ticket_status == "checked":
        company = f" ({snap.ticket_company})" if snap.ticket_company else ""
        return f"{snap.ticket} · {snap.ticket_title}{company}"
    if snap.ticket_status == "not_checked":
        return f"{snap.ticket} (ticket not checked)"
    return snap.ticket


def _cap(lengths: list[int], budget: int) -> int:
    """The largest cap L with sum(min(n, L)) <= budget: cutting to it shortens the longest first."""
    low, high = 0, max(lengths, default=0)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(n, mid) for n in lengths) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def within_budget(view: CardView, budget: int = CARD_SECTIONS_TEXT) -> CardView:
    """The card's free text (every section and list item, and the link) fits `budget` together: the
    longest sections are cut first, each cut one ending in "…"."""
    budget -= len(view.source_link)
    a = view.assessment
    units = [view.summary, view.tried, view.notes, a.summary, *a.likely_causes, *a.next_steps, a.note]
    if sum(map(len, units)) <= budget:
        return view
    cap = _cap([len(u) for u in units], budget)
    fit = lambda text: truncate(text, cap)  # noqa: E731
    assessment = replace(a, summary=fit(a.summary), likely_causes=tuple(map(fit, a.likely_causes)),
                         next_steps=tuple(map(fit, a.next_steps)), note=fit(a.note))
    return replace(view, summary=fit(view.summary), tried=fit(view.tried), notes=fit(view.notes), assessment=assessment)


def build_card_view(state: HandoffState, *, now: datetime) -> CardView:
    snap = state.snapshot
    summary = strip_controls(snap.summary).strip()
    link = strip_controls(snap.source_link).strip()
    escalated_at = state.escalated_at or state.created_at
    claim_delay = None
    if state.claimed_at is not None:
        claim_delay = f"{humanize_seconds((state.claimed_at - escalated_at).total_seconds())} after escalation"
    return within_budget(CardView(
        handoff_id=str(state.id),
        title=_clean(summary.splitlines()[0] if summary else "", TITLE_CHARS),
        summary=_clean(snap.summary, FIELD_CHARS),
        status=state.status,
        status_label=STATUS_LABELS.get(state.status, state.status),
        urgency=snap.urgency,
        urgency_label=URGENCY_LABELS.get(snap.urgency, snap.urgency),
        author=person_view(state.author),
        escalated_at=escalated_at,
        escalated_ago=ago(escalated_at, now),
        tried=_clean(snap.tried, FIELD_CHARS),
        notes=_clean(snap.notes, FIELD_CHARS),
        ticket=strip_controls(ticket_line(snap)),
        domain=strip_controls(snap.domain),
        source_link=link if len(link) <= CARD_LINK_CHARS else "",
        assessment=assessment_view(state),
        claimed_by=person_view(state.claimed_by) if state.claimed_by else None,
        claim_delay=claim_delay,
        buttons=buttons_for(state),
        version=state.version,
        reminder=reminder_view(state, now),
        notice=_clean(state.notice or "", LIST_ITEM_CHARS),
    ))
