"""Everything Handoff says besides the card, decided once for both platforms. Pure.

Each builder takes handoff state (and an outcome, and `now`) and returns a frozen `Message`: paragraphs
made of parts. The renderers (cards/slack_messages.py, cards/teams_messages.py) only turn parts into
their platform's markup: escaping, mentions, and the platform's own words for a `Hint` ("run
`/escalate`" on Slack, 'say "escalate" to Handoff' in Teams). What is said, and when which sentence
applies, is decided here and nowhere else, so the two platforms cannot drift.

Plain `str` parts are our words or user text alike: every renderer escapes every part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cards.parts import Channel, Hint, Link, Mention, Name, Paragraph, Part, Strong, Time  # noqa: F401 (the parts, here too)
from cards.view import STATUS_LABELS, Button, PersonView, ago, build_card_view, person_view, snooze_button
from core.models import HandoffState, Person, Refused
from core.snapshot import FIELD_LABELS, NOT_ONE_OF, REQUIRED, TOO_LONG, FieldProblem

# The actions a Hint may name; each renderer has exactly one phrase for each (a test checks both).
HINTS = ("escalate", "list", "set_channel", "make_role", "use_this_channel", "home", "stats", "settings", "invite",
         "allow_emails")


@dataclass(frozen=True)
class Message:
    """One thing the bot says. `kind` is stable (tests and logs use it); the rest is what people read."""

    kind: str
    paragraphs: tuple[Paragraph, ...]
    items: tuple[str, ...] = ()  # a checklist: one line each
    items_label: str = ""
    checkboxes: bool = True  # items are things to do (a checklist), else plain facts
    footnotes: tuple[str, ...] = ()
    # Buttons under the message (Slack: an actions block; Teams: the message becomes an Adaptive Card).
    buttons: tuple[Button, ...] = ()

    @property
    def people(self) -> tuple[PersonView, ...]:
        """Everyone this message mentions (pings), each once, in order."""
        seen: dict[str, PersonView] = {}
        for paragraph in self.paragraphs:
            for part in paragraph:
                if isinstance(part, Mention):
                    seen.setdefault(part.person.external_id, part.person)
        return tuple(seen.values())


def worded(message: Message, *, hints: Mapping[str, str], escape: Callable[[str], str]) -> str:
    """A message of words and hints only (a card's footer line) in one platform's phrases: what the card
    renderers show without the full message renderers (which build on them)."""
    def part(p: Part) -> str:
        if isinstance(p, Hint):
            return hints[p.action]
        if isinstance(p, str):
            return escape(p)
        raise TypeError(f"not a footer part: {p!r}")
    return "\n\n".join("".join(part(p) for p in paragraph) for paragraph in message.paragraphs)


def _say(kind: str, *paragraphs: Paragraph | str, **extra) -> Message:
    shaped = tuple((p,) if isinstance(p, str) else p for p in paragraphs)
    return Message(kind=kind, paragraphs=shaped, **extra)


def _view(person: Person | PersonView) -> PersonView:
    return person if isinstance(person, PersonView) else person_view(person)


def since(then: datetime | None, now: datetime) -> str:
    """'12 s ago' within the first minute (a loser wants to know it was a near thing), then ago()."""
    if then is None:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 1:
        return "just now"
    return f"{seconds} s ago" if seconds < 60 else ago(then, now)


def _names(people: Sequence[Person | PersonView], limit: int = 3) -> Paragraph:
    parts: list[Part] = []
    for i, person in enumerate(people[:limit]):
        parts += [", "] if i else []
        parts.append(Name(_view(person)))
    more = len(people) - limit
    return (*parts, f" and {more} more") if more > 0 else tuple(parts)


def ask_an_admin(admins: Sequence[Person | PersonView]) -> Paragraph:
    """'a Handoff admin (Alex, Sam)' — or, with none yet, how the first one comes about."""
    if admins:
        return ("a Handoff admin (", *_names(admins), ")")
    return ("a Handoff admin (there is none yet: whoever first sets the escalation channel becomes one)",)


# --- claims: the loser, the winner, the one who already has it -----------------------------------


def conflict_notice(*, winner: Person | PersonView, claimed_at: datetime | None, now: datetime) -> Message:
    """What a losing senior sees privately, at once: who won and how long ago."""
    when = since(claimed_at, now)
    return _say("conflict.notice", ("Already claimed by ", Name(_view(winner)), f", {when}." if when else "."))


def conflict_record(*, loser: Person | PersonView, winner: Person | PersonView, claimed_at: datetime | None,
                    now: datetime) -> Message:
    """The thread's public record of one conflict: names the loser and the winner, pings neither."""
    when = since(claimed_at, now)
    return _say("conflict.record", (Name(_view(loser)), " tried to pick this up too: already claimed by ",
                                    Name(_view(winner)), f", {when}." if when else "."))


def generic_steps(author: PersonView) -> tuple[str, ...]:
    return (
        f"Tell {author.name} in this thread that you have it",
        "Read what's been tried on the card before repeating it",
        "Reproduce the problem or confirm it is still happening",
        "Post what you find here, then Resolve (or Release if you must hand it back)",
    )


def checklist(state: HandoffState, *, owner: Person | PersonView, now: datetime,
              author: PersonView | None = None, first_reply_counts: bool = True) -> Message:
    """The new owner's checklist in the card's thread: the assessment's next steps, or the usual first moves.
    `first_reply_counts`: the platform sees the owner's replies in the thread (Slack does; a Teams bot sees
    channel messages only when @mentioned), so the first one is their first action."""
    view = build_card_view(state, now=now)
    steps, notes = view.assessment.next_steps, ()
    if not steps:
        steps = generic_steps(author or view.author)
        notes = ("The assessment had no steps for this one, so these are the usual first moves.",)
    return _say("checklist", (Mention(_view(owner)), " picked this up. Your checklist:"), items=steps,
                items_label="Suggested steps",
                footnotes=(*notes, *(["Your first reply in this thread starts the time-to-first-action clock."]
                                     if first_reply_counts else [])))


def already_yours(state: HandoffState | None = None) -> Message:
    return _say("already_yours", "This one is already yours. Resolve it when it's fixed, or Release it to hand it back.")


def more_elsewhere(count: int) -> Message:
    """The last line of a list cut to the platform's limit."""
    return _say("list.more", (f"and {count} more — see ", Hint("home"), "."))


# --- refusals: what happened and what to do instead ----------------------------------------------


def not_found() -> Message:
    """A button for a handoff that is gone, in another workspace, or whose value is not one of ours."""
    return _say("refusal.not_found", ("Handoff can't find this escalation any more, so nothing happened. "
                                      "If you still need help, ", Hint("escalate"), "."))


def not_installed() -> Message:
    """Someone in a workspace (or tenant) Handoff is not installed in."""
    return _say("refusal.not_installed", "Handoff isn't set up for this workspace, so nothing happened. "
                                         "Ask your admin to install it.")


def button_unsupported() -> Message:
    return _say("refusal.unsupported", "That button is not supported any more, so nothing happened. "
                                       "Use the buttons on the card as it is now.")


def refusal(refused: Refused, *, admins: Sequence[Person | PersonView] = (), owner: PersonView | None = None) -> Message:
    """Why a card button did nothing, and what to do instead. `owner`: the owner as the platform names
    them, when the adapter knows better than the stored name."""
    state, reason = refused.handoff, refused.reason
    if reason == "self_target":
        return target_is_you()
    if reason == "not_admin":
        return _say("refusal.not_admin", ("Only a Handoff admin can change that. Ask ", *ask_an_admin(admins), "."))
    if reason == "other_workspace":
        return _say("refusal.other_workspace", ("Those stats belong to another workspace, so they are not shown here. "
                                                "Ask for this workspace's own: ", Hint("stats"), "."))
    if reason == "invalid":
        return _say("refusal.invalid", f"That didn't work: {refused.detail or 'the value is not valid'}. "
                                       "Try again, e.g. 10m,30m,60m.")
    if reason == "snooze_choice":
        offered = " / ".join(c.label for c in snooze_button("").choices)
        return _say("refusal.snooze_choice", "That snooze length is not offered any more, so nothing happened. "
                                             f"Choose one on the card as it is now ({offered}).")
    if reason == "own_escalation":
        return _say("refusal.own_escalation", "You escalated this one yourself, so a teammate needs to pick it up. "
                                              "You'll see on the card who does.")
    if reason == "viewer":
        return _say("refusal.viewer", ("Your Handoff role is viewer: you can see escalations but not pick them up. "
                                       "Ask ", *ask_an_admin(admins), " for the engineer role."))
    if reason == "not_found" or state is None:
        return not_found()
    if reason == "not_owner":
        if state.claimed_by is None:
            return _say("refusal.not_owner", "Nobody has picked this up yet, so there is nothing to release or resolve.")
        return _say("refusal.not_owner", ("Only the engineer who picked this up (",
                                          Name(owner or person_view(state.claimed_by)),
                                          ") can release or resolve it. Ask them in the card's thread, "
                                          "or pick it up yourself once they release it."))
    if reason == "not_author_or_admin":
        return _say("refusal.snooze", ("Only ", Name(person_view(state.author)), " (who escalated it) or ",
                                       *ask_an_admin(admins), " can snooze its reminders. Pick it up yourself, "
                                       "or ask them in the card's thread."))
    if reason == "not_author":
        return _say("refusal.not_author", "Only the person who wrote this escalation can do that. "
                                          "Ask them in the card's thread.")
    status = STATUS_LABELS.get(state.status, state.status).lower()
    if state.status in ("resolved", "cancelled"):
        return _say("refusal.closed", (f"This escalation is already {status}, so nothing happened. "
                                       "If the problem is back, ", Hint("escalate"), "."))
    return _say("refusal.not_open", f"This escalation is already {status}, so nothing happened.")


# --- the escalate form and what follows it --------------------------------------------------------


def escalated(*, channel: str | None, notified_senior: bool, link_follows: bool) -> Message:
    """The author's answer when the form is accepted. `link_follows`: the author's 'posted' message will come."""
    where: Paragraph = ("Escalated to ", Channel(channel), ".") if channel else ("Escalated.",)
    tail = " You'll see on the card who picks it up."
    if notified_senior:
        tail += " The senior you chose gets a direct message too."
    if link_follows:
        tail += " I'll message you a link to the card as soon as it's posted."
    return _say("escalated", (*where, tail))


def parked() -> Message:
    return _say("parked", ("Parked for later. ", Hint("list"), " shows it, with an Escalate now button."))


def no_channel(admins: Sequence[Person | PersonView] = ()) -> Message:
    return _say("form.no_channel", ("Nothing was sent yet: no escalation channel is set up. Ask ", *ask_an_admin(admins),
                                    " to ", Hint("set_channel"), ", then press Escalate again (what you typed is kept here)."))


def save_failed() -> Message:
    return _say("form.save_failed", "Nothing was sent yet: Handoff couldn't save it just now (the database is "
                                    "unavailable). What you typed is kept here: try again in a moment.")


def fix_fields() -> Message:
    return _say("form.fix_fields", "Nothing was sent yet: please fix the highlighted fields and press Escalate again.")


def target_not_a_person() -> Message:
    return _say("form.target_not_a_person", "Choose one person from the list, or leave this empty.")


def target_is_you() -> Message:
    return _say("form.target_is_you", "Choose someone else: you are the one escalating. Or leave this empty.")


def unknown_organisation() -> Message:
    return _say("form.unknown_organisation", ("Nothing was sent: Handoff could not tell which organisation this came "
                                              "from. Please try again; if it keeps happening, tell your Handoff admin."))


def thread_not_readable(*, not_in_channel: bool) -> Message:
    if not_in_channel:
        return _say("form.not_in_channel", "I'm not in this channel, so only this message is included. To include "
                                           "the whole thread next time, invite me with /invite @Handoff.")
    return _say("form.thread_unreadable", "Couldn't read the thread just now, so only this message is included.")


def thread_included(count: int) -> Message:
    return _say("form.thread_included", f"Includes {count} message{'s' if count != 1 else ''} from the thread.")


def reading_thread() -> Message:
    return _say("form.reading_thread", "Reading the thread…")


# --- direct messages and mentions about one handoff ----------------------------------------------


def _title(state: HandoffState, now: datetime) -> str:
    return build_card_view(state, now=now).title


def target_notice(state: HandoffState, *, now: datetime, permalink: str | None = None,
                  author: PersonView | None = None) -> Message:
    """The direct message to the senior the author named: who, what, and where to act."""
    where: Paragraph = (" ", Link(permalink, "Open the card")) if permalink else \
        (" The card with Pick Up is in the escalation channel; anyone there can pick it up too.",)
    return _say("target.notice", (Mention(author or person_view(state.author)), " asked you to look at an escalation: ",
                                  Strong(_title(state, now)), ".", *where))


def target_in_thread(state: HandoffState, *, target: Person | PersonView) -> Message:
    """The named senior, mentioned in the card's thread where a direct message could not be opened."""
    return _say("target.in_thread", (Mention(_view(target)), " ", Name(person_view(state.author)),
                                     " asked for you on this escalation. Pick it up from the card above."))


def author_posted(state: HandoffState, *, now: datetime, permalink: str | None) -> Message:
    """The author's link to their card, once it is posted."""
    channel = state.card.channel if state.card else state.workspace.escalation_channel
    link: Paragraph = (" ", Link(permalink, "View the card")) if permalink else ()
    return _say("author.posted", ("✅ Your escalation ", Strong(_title(state, now)), " is posted in ",
                                  Channel(channel or ""), ".", *link))


def duplicate_card(state: HandoffState, *, now: datetime, permalink: str | None) -> Message:
    """A card posted twice (an answer lost on the way back): the second copy points at the live one."""
    link: Paragraph = (" ", Link(permalink, "Open the live card")) if permalink else ()
    return _say("card.duplicate", ("Duplicate of the escalation card for ", Strong(_title(state, now)),
                                   ": pick it up on the other card.", *link))


def escalated_now(state: HandoffState) -> Message:
    """A parked item escalated from its button."""
    channel = state.card.channel if state.card else state.workspace.escalation_channel
    return _say("escalated_now", ("Escalated: the card is going to ", Channel(channel or ""), "."))


# --- the escalate form: what is wrong with a field (region kept by "tidy") ------------------------


def field_error(problem: FieldProblem | str) -> Message:
    """One field's problem in words, under that field on Slack's modal and in Teams' dialog alike."""
    if isinstance(problem, str):  # already worded by an integration (a PSA's word on a ticket reference)
        return _say("form.field", problem)
    label = FIELD_LABELS.get(problem.field, problem.field)
    if problem.code == REQUIRED:
        return _say("form.field.required", f"{label} is required.")
    if problem.code == TOO_LONG:
        return _say("form.field.too_long", f"{label} is {problem.length:,} characters; the limit is {problem.limit:,}.")
    if problem.code == NOT_ONE_OF:
        return _say("form.field.not_one_of", f"{label} must be one of: {', '.join(problem.choices)}.")
    return _say("form.field.unknown", f"Unknown field {problem.field!r}.")


def field_errors(errors: dict[str, FieldProblem | str]) -> dict[str, Message]:
    """Each bad field's message, keyed by field name (the form's block / input ids)."""
    return {name: field_error(problem) for name, problem in errors.items()}


def field_error_text(problem: FieldProblem | str) -> str:
    """The same words as one plain string, for slots that take no markup (a Teams input's errorMessage).
    Field errors are made of plain words only, so nothing is lost."""
    return "\n\n".join("".join(str(part) for part in paragraph) for paragraph in field_error(problem).paragraphs)
