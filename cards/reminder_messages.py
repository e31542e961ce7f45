"""What reminders say: the thread nudge, the direct messages, snooze and schedule answers. Pure.

Same parts as cards/messages.py, rendered by the same two renderers. A nudge never mentions a group
(no @channel / @here): the thread reply names nobody, and the people it is for get a direct message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from cards.messages import Link, Message, Name, Paragraph, Strong, _say, already_yours, conflict_notice, since
from cards.view import Button, build_card_view, humanize_seconds, person_view, snooze_button
from core.models import AlreadyYours, Done, HandoffState, Lost, ReminderSchedule, Snoozed, Won


def _waited(seconds: float) -> str:
    return humanize_seconds(seconds)


def _open_card(permalink: str | None) -> Paragraph:
    return (" ", Link(permalink, "Open the card")) if permalink else ()


def nudge(state: HandoffState, *, step: int, of: int, waited_s: float) -> Message:
    """The reply in the card's thread: how long it has waited, with Pick Up and Snooze under it."""
    last = " That was the last reminder: Handoff's admins have been told." if step >= of else ""
    return _say(
        "reminder.nudge",
        (f"⏰ Still waiting for pick-up: escalated {_waited(waited_s)} ago. Reminder {step} of {of}.{last}",),
        ("Press Pick Up to take it, or snooze it if it can wait.",),
        buttons=nudge_buttons(state),
    )


def nudge_buttons(state: HandoffState) -> tuple[Button, ...]:
    """A nudge's buttons: the card's own Pick Up and Snooze (same actions, same value, same lengths)."""
    value = str(state.id)
    return (Button("pickup", "Pick Up", value, "primary"), snooze_button(value))


def nudge_clicked(outcome: Won | AlreadyYours | Lost | Snoozed | Done, *, now: datetime) -> Message:
    """What takes a nudge's place for the person who pressed one of its buttons, where a platform answers
    a click with the message clicked (Teams). The same words Slack says privately under the nudge; buttons
    only while they still do something: after a snooze it is still open, so Pick Up and Snooze stay.
    Everyone else's nudge stays as posted: the card and the thread say who picked it up, and a later
    click on it is answered in its place with who has it."""
    if isinstance(outcome, Lost):
        return conflict_notice(winner=outcome.winner, claimed_at=outcome.claimed_at, now=now)
    if isinstance(outcome, AlreadyYours):
        return already_yours(outcome.handoff)
    state = outcome.handoff
    if isinstance(outcome, Snoozed):
        return replace(snoozed(state, until=outcome.until), buttons=nudge_buttons(state))
    if state.claimed_by is not None:
        when = since(state.claimed_at, now)
        return _say("reminder.nudge_picked_up", ("✅ Picked up by ", Name(person_view(state.claimed_by)),
                                                 f", {when}." if when else "."))
    view = build_card_view(state, now=now)
    return _say("reminder.nudge_state", f"This escalation is now: {view.status_label}.", buttons=view.buttons)


def nudge_target(state: HandoffState, *, waited_s: float, now: datetime, permalink: str | None = None) -> Message:
    """The senior the author named: the escalation is still waiting for them."""
    view = build_card_view(state, now=now)
    return _say("reminder.target", ("⏰ ", Name(view.author), "'s escalation ", Strong(view.title),
                                    f" is still waiting for pick-up ({_waited(waited_s)}). They asked for you: "
                                    "press Pick Up on the card.", *_open_card(permalink)))


def overdue_admin(state: HandoffState, *, waited_s: float, now: datetime, permalink: str | None = None) -> Message:
    """Each admin, once, after the last reminder went unanswered."""
    view = build_card_view(state, now=now)
    return _say("reminder.overdue", ("🚩 Overdue: ", Strong(view.title), " from ", Name(view.author),
                                     f" has been waiting {_waited(waited_s)} and every reminder went unanswered. "
                                     "Ask a senior to pick it up, or pick it up yourself.", *_open_card(permalink)))


def first_action(state: HandoffState, *, idle_s: float, now: datetime, permalink: str | None = None) -> Message:
    """The owner, privately, once: picked up a while ago and nothing said in the thread yet."""
    view = build_card_view(state, now=now)
    return _say("reminder.first_action", (f"👋 You picked up ", Strong(view.title), f" {_waited(idle_s)} ago and "
                                          "haven't replied in its thread yet. Post what you've found, or Release it "
                                          "so someone else can pick it up.", *_open_card(permalink)))


def snoozed(state: HandoffState, *, until: datetime) -> Message:
    return _say("reminder.snoozed", f"🔕 Reminders for this escalation are snoozed until {until:%H:%M} UTC. "
                                    "Snooze again to push them further, or pick it up.")


def schedule_set(schedule: ReminderSchedule) -> Message:
    which = "the default" if schedule.is_default else "this workspace's own"
    return _say("reminder.schedule_set", f"Reminders now follow {which} schedule: {schedule.schedule} after an "
                                         "escalation (sooner for high urgency, later for low). Escalations already "
                                         "waiting use it from their next reminder. Send an empty value to use the "
                                         "default again.")



# The reply/DM kinds the reminder jobs enqueue (core/nudges.py), and the one place that words them.
THREAD_KINDS = frozenset({"nudge"})
DIRECT_KINDS = frozenset({"nudge_target", "overdue_admin", "first_action"})


def reminder_message(state: HandoffState, kind: str, detail: Mapping[str, Any], *, now: datetime,
                     permalink: str | None = None) -> Message:
    """The message for a reminder job's reply or direct message, from its payload."""
    if kind == "nudge":
        return nudge(state, step=int(detail.get("step", 1)), of=int(detail.get("of", 1)),
                     waited_s=float(detail.get("waited_s", 0)))
    if kind == "nudge_target":
        return nudge_target(state, waited_s=float(detail.get("waited_s", 0)), now=now, permalink=permalink)
    if kind == "overdue_admin":
        return overdue_admin(state, waited_s=float(detail.get("waited_s", 0)), now=now, permalink=permalink)
    if kind == "first_action":
        return first_action(state, idle_s=float(detail.get("idle_s", 0)), now=now, permalink=permalink)
    raise ValueError(f"not a reminder message: {kind!r}")
