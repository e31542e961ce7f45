"""Stats where people are: the `/escalate stats` / "stats" answer and the App Home's week. Pure."""

from __future__ import annotations

from cards.messages import Hint, Message, Strong, _say
from cards.view import URGENCY_LABELS, short_duration
from core.models import Stats

BARS = "▁▂▃▄▅▆▇█"
WINDOWS = (7, 30)  # the windows people may ask for, in days


def sparkline(values: tuple[int, ...]) -> str:
    """One bar per value, scaled to the largest; all-zero is a flat line."""
    top = max(values, default=0)
    if top == 0:
        return BARS[0] * len(values)
    return "".join(BARS[round(v / top * (len(BARS) - 1))] for v in values)


def _pair(p50: float | None, p90: float | None) -> str:
    if p50 is None:
        return "none yet"
    return f"p50 {short_duration(p50)} · p90 {short_duration(p90 if p90 is not None else p50)}"


def stats_message(stats: Stats) -> Message:
    window = f"Last {stats.days} days"
    if not stats.count:
        return _say("stats", (Strong(window), ": no escalations. Open and waiting now: "
                              f"{stats.open_now} ({stats.overdue_now} overdue). To raise one, ", Hint("escalate"), "."))
    share = f"{stats.picked_up_share:.0%}"
    items = [
        f"Picked up: {stats.claimed} of {stats.count} ({share})",
        f"Time to pick-up: {_pair(stats.time_to_claim_median_s, stats.time_to_claim_p90_s)}",
        f"Time to first action: {_pair(stats.time_to_first_action_median_s, stats.time_to_first_action_p90_s)}",
        f"Open now: {stats.open_now} ({stats.overdue_now} overdue)",
        "By urgency: " + " · ".join(f"{URGENCY_LABELS.get(u, u)} {n}" for u, n in stats.by_urgency),
    ]
    if stats.top_pickers:
        items.append("Picks up most: " + " · ".join(f"{name} {n}" for name, n in stats.top_pickers))
    items.append(f"Per day: {sparkline(stats.per_day)} (oldest first)")
    return _say("stats", (Strong(window), f": {stats.count} escalation{'s' if stats.count != 1 else ''}. For 7 or "
                                          "30 days, ", Hint("stats"), "."),
                items=tuple(items), items_label="Handoff stats", checkboxes=False)


def week_at_a_glance(stats: Stats) -> Message:
    """The App Home's line: the week in numbers, with a bar per day."""
    if not stats.count:
        return _say("stats.week", ("This week: no escalations yet. ", f"{sparkline(stats.per_day)}"))
    pickup = short_duration(stats.time_to_claim_median_s) if stats.time_to_claim_median_s is not None else "—"
    return _say("stats.week", ("This week: ", Strong(f"{stats.count} escalated"), f", {stats.claimed} picked up "
                               f"(median {pickup}), {stats.open_now} open, {stats.overdue_now} overdue.  "
                               f"{sparkline(stats.per_day)}"))


def parse_window(text: str) -> int | None:
    """'', '7d', '30d', '7', '30' -> days; anything else -> None."""
    value = text.strip().lower().removesuffix("d").removesuffix(" days").strip()
    if not value:
        return WINDOWS[0]
    return int(value) if value.isdigit() and int(value) in WINDOWS else None


def bad_window(text: str) -> Message:
    return _say("stats.bad_window", (f"Stats cover the last 7 or 30 days, not {text.strip()!r}: ", Hint("stats"), "."))
