"""Reminder schedules: parsing `10m,30m,60m`, and how urgency moves the steps. Pure.

The schedule counts from when the escalation was made (or released back to the queue). Normal
urgency uses it as written; the other urgencies scale every step by one factor:
critical x0.25, high x0.5, low x2 (a 10m,30m,60m schedule nudges a critical escalation at
2.5m, 7.5m and 15m, a low one at 20m, 60m and 120m).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

URGENCY_FACTORS = {"critical": 0.25, "high": 0.5, "normal": 1.0, "low": 2.0}
DEFAULT_REMINDERS = "10m,30m,60m"
DEFAULT_FIRST_ACTION_NUDGE = "15m"
MAX_STEPS = 10
# How long a snooze may hold reminders off: the choices offered on the card and under each nudge, on
# both platforms. A plain "snooze" without a choice (a button on a card posted before the choices) is 1 h.
SNOOZE_CHOICES = (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=4))
DEFAULT_SNOOZE = timedelta(hours=1)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$", re.IGNORECASE)


class ScheduleError(ValueError):
    """A schedule or duration a person typed that cannot be used; the message says why."""


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '1.5h', '30d' -> timedelta. Anything else raises ScheduleError."""
    match = _DURATION.match(str(text))
    if match is None:
        raise ScheduleError(f"{str(text).strip()!r} is not a duration like 90s, 15m or 1h")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise ScheduleError(f"{text.strip()!r} must be longer than zero")
    return timedelta(seconds=seconds)


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """'10m,30m,60m' -> increasing durations from the escalation. An empty string means no reminders."""
    parts = [p for p in str(text).split(",") if p.strip()]
    if not parts:
        return ()
    steps = tuple(parse_duration(p) for p in parts)
    if len(steps) > MAX_STEPS:
        raise ScheduleError(f"at most {MAX_STEPS} reminders, not {len(steps)}")
    if any(later <= earlier for earlier, later in zip(steps, steps[1:])):
        raise ScheduleError("each reminder must come later than the one before (e.g. 10m,30m,60m)")
    return steps


def format_duration(delta: timedelta) -> str:
    """The inverse of parse_duration, in the largest unit that divides it: 600s -> '10m'."""
    seconds = delta.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def snooze_for(choice: str | None, *, default: timedelta = DEFAULT_SNOOZE) -> timedelta | None:
    """The snooze a button asked for ('30m', '1h', '4h'; none: `default`), or None if it is not offered."""
    if not choice:
        return default
    try:
        wanted = parse_duration(choice)
    except ScheduleError:
        return None
    return wanted if wanted in SNOOZE_CHOICES else None


def format_schedule(steps: tuple[timedelta, ...]) -> str:
    return ",".join(format_duration(s) for s in steps)


@dataclass(frozen=True)
class ReminderPolicy:
    """When nudges fire. `steps` come from HANDOFF_REMINDERS or the workspace's own setting."""

    steps: tuple[timedelta, ...] = parse_schedule(DEFAULT_REMINDERS)
    first_action: timedelta = parse_duration(DEFAULT_FIRST_ACTION_NUDGE)
    snooze: timedelta = DEFAULT_SNOOZE

    def with_steps(self, schedule: str | None) -> ReminderPolicy:
        """This policy with a workspace's own schedule (ignored if it no longer parses)."""
        if not schedule:
            return self
        try:
            return ReminderPolicy(parse_schedule(schedule), self.first_action, self.snooze)
        except ScheduleError:
            return self

    def due_after(self, step: int, urgency: str) -> timedelta | None:
        """How long after the (re)arming the step-th nudge is due; None past the last step."""
        if step >= len(self.steps):
            return None
        return self.steps[step] * URGENCY_FACTORS.get(urgency, 1.0)

    def is_last(self, step: int) -> bool:
        return step == len(self.steps) - 1
