"""Stats and the pilot report, computed from the escalation history. Pure: rows in, values out.

- time to pick-up: escalated -> claimed; time to first action: escalated -> the owner's first reply.
- p50 is the median; p90 the 90th percentile (inclusive method; one value is its own p90).
- Time saved (the pilot report): with a baseline B (the team's median minutes to first action before
  Handoff, measured by hand) and the measured median M of a period,
  saved per escalation = B - M, and saved in the period = (B - M) x the escalations acted on in it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.models import Stats
from core.snapshot import URGENCIES


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


@dataclass(frozen=True)
class Escalation:
    """One escalation as the numbers see it."""

    escalated_at: datetime
    claimed_at: datetime | None
    first_action_at: datetime | None
    urgency: str
    picker: str | None  # who picked it up (display name)

    @property
    def to_pickup_s(self) -> float | None:
        return (self.claimed_at - self.escalated_at).total_seconds() if self.claimed_at else None

    @property
    def to_first_action_s(self) -> float | None:
        return (self.first_action_at - self.escalated_at).total_seconds() if self.first_action_at else None


def escalation_from_row(row: Any) -> Escalation:
    return Escalation(
        escalated_at=row["escalated_at"],
        claimed_at=row["claimed_at"],
        first_action_at=row["first_action_at"],
        urgency=(row["snapshot"] or {}).get("urgency", "normal"),
        picker=(row["claimer_name"] or row["claimer_external_id"]) if row["claimer_external_id"] else None,
    )


def _present(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def summarize(
    items: list[Escalation], *, until: datetime, days: int, open_now: int = 0, overdue_now: int = 0
) -> Stats:
    """The stats of the `days` days ending at `until`."""
    to_pickup = _present([e.to_pickup_s for e in items])
    to_action = _present([e.to_first_action_s for e in items])
    urgencies = Counter(e.urgency for e in items)
    pickers = Counter(e.picker for e in items if e.picker)
    start = until - timedelta(days=days)
    per_day = [0] * days
    for e in items:
        index = int((e.escalated_at - start).total_seconds() // 86400)
        if 0 <= index < days:
            per_day[index] += 1
    return Stats(
        count=len(items),
        claimed=len(to_pickup),
        time_to_claim_median_s=median(to_pickup),
        time_to_claim_p90_s=p90(to_pickup),
        time_to_first_action_median_s=median(to_action),
        time_to_first_action_p90_s=p90(to_action),
        days=days,
        open_now=open_now,
        overdue_now=overdue_now,
        by_urgency=tuple((u, urgencies[u]) for u in reversed(URGENCIES) if urgencies[u]),
        top_pickers=tuple(sorted(pickers.items(), key=lambda kv: (-kv[1], kv[0]))[:5]),
        per_day=tuple(per_day),
    )


# --- the pilot report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    label: str  # the week ("2026-W47") or the senior's name
    escalations: int
    picked_up: int
    acted_on: int
    median_pickup_s: float | None
    median_first_action_s: float | None
    saved_per_escalation_min: float | None = None  # baseline - median first action
    saved_min: float | None = None  # saved per escalation x acted on


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    weeks: tuple[ReportRow, ...]
    seniors: tuple[ReportRow, ...]
    total: ReportRow
    baseline_min: float | None
    formula: str  # how time saved was worked out, with the figures, or why it was not


def _row(label: str, items: list[Escalation], baseline_min: float | None) -> ReportRow:
    to_pickup = _present([e.to_pickup_s for e in items])
    to_action = _present([e.to_first_action_s for e in items])
    first_action = median(to_action)
    per, saved = None, None
    if baseline_min is not None and first_action is not None:
        per = baseline_min - first_action / 60
        saved = per * len(to_action)
    return ReportRow(label, len(items), len(to_pickup), len(to_action), median(to_pickup), first_action, per, saved)


def week_label(when: datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def build_report(
    items: list[Escalation], *, since: datetime, until: datetime, baseline_min: float | None
) -> Report:
    weeks: dict[str, list[Escalation]] = {}
    seniors: dict[str, list[Escalation]] = {}
    for e in items:
        weeks.setdefault(week_label(e.escalated_at), []).append(e)
        if e.picker:
            seniors.setdefault(e.picker, []).append(e)
    total = _row("all", items, baseline_min)
    return Report(
        since=since,
        until=until,
        weeks=tuple(_row(label, weeks[label], baseline_min) for label in sorted(weeks)),
        seniors=tuple(
            _row(name, rows, baseline_min) for name, rows in sorted(seniors.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ),
        total=total,
        baseline_min=baseline_min,
        formula=_formula(total, baseline_min, days=(until - since).total_seconds() / 86400),
    )


def _formula(total: ReportRow, baseline_min: float | None, *, days: float) -> str:
    if baseline_min is None:
        return "Time saved: set HANDOFF_BASELINE_MINUTES (your median minutes to first action before Handoff)."
    if total.median_first_action_s is None:
        return "Time saved: no escalation in this period has a first action yet."
    measured = total.median_first_action_s / 60
    per = baseline_min - measured
    weeks = max(days / 7, 1e-9)
    per_week_acted = total.acted_on / weeks
    return (
        f"saved per escalation = baseline {baseline_min:g} min - median time to first action {measured:.1f} min "
        f"= {per:.1f} min; saved per week = {per:.1f} min x {per_week_acted:.1f} escalations acted on per week "
        f"= {per * per_week_acted / 60:.1f} h"
    )
