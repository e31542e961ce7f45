"""The pilot report as text for a terminal and as CSV. Pure: a core Report in, a string out."""

from __future__ import annotations

import csv
import io

from core.stats import Report, ReportRow

COLUMNS = ("escalations", "picked up", "acted on", "median pick-up (min)", "median first action (min)",
           "saved per escalation (min)", "saved (h)")


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def _cells(row: ReportRow) -> list[str]:
    return [
        str(row.escalations), str(row.picked_up), str(row.acted_on),
        _minutes(row.median_pickup_s), _minutes(row.median_first_action_s),
        "" if row.saved_per_escalation_min is None else f"{row.saved_per_escalation_min:.1f}",
        "" if row.saved_min is None else f"{row.saved_min / 60:.1f}",
    ]


def report_csv(report: Report) -> str:
    """One row per week, per senior and the total; `section` says which."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "label", *COLUMNS])
    for section, rows in (("week", report.weeks), ("senior", report.seniors), ("total", (report.total,))):
        for row in rows:
            writer.writerow([section, row.label, *_cells(row)])
    return out.getvalue()


def _table(title: str, label: str, rows: tuple[ReportRow, ...]) -> list[str]:
    header = [label, *COLUMNS]
    body = [[row.label, *_cells(row)] for row in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return [title, line(header), *(line(r) for r in body), ""]


def report_text(report: Report) -> str:
    lines = [f"Handoff pilot report, {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC", ""]
    if not report.total.escalations:
        lines.append("No escalations in this period.")
    else:
        lines += _table("Per week", "week", report.weeks)
        lines += _table("Per senior (what they picked up)", "senior", report.seniors)
        lines += _table("Total", "", (report.total,))
    lines.append(report.formula)
    return "\n".join(lines) + "\n"
