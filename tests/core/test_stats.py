"""Stats and the pilot report against a scripted history: escalations made, picked up and acted on at
known times on the service's clock, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.handoffs import Handoffs
from core.models import PersonKey
from core.schedule import ReminderPolicy, parse_schedule
from tests.factories import ACME, CAROL, DANA, GLOBEX, JUNIOR, snapshot

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
ERIN = PersonKey("U-ERIN", "Erin")

# (days before NOW, urgency, picker, minutes to pick-up, minutes to first action after escalation)
HISTORY = [
    (1, "high", DANA, 2, 5),
    (1, "normal", DANA, 4, 10),
    (2, "critical", CAROL, 1, 3),
    (3, "normal", DANA, 10, 20),
    (5, "low", CAROL, 30, 40),
    (6, "normal", None, None, None),  # never picked up
    (12, "normal", ERIN, 6, 12),  # only in the 30-day window
    (20, "high", DANA, 8, 16),
]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def scripted(db) -> tuple[Handoffs, Clock]:
    clock = Clock()
    handoffs = Handoffs(db, clock=clock, reminders=ReminderPolicy(parse_schedule("1h")))
    await handoffs.register_workspace(ACME, channel="C-ESC")
    for i, (days, urgency, picker, pickup, action) in enumerate(HISTORY):
        start = NOW - timedelta(days=days)
        clock.now = start
        h = (await handoffs.escalate(workspace=ACME, author=JUNIOR,
                                     snapshot=snapshot(urgency=urgency, summary=f"case {i}"))).handoff
        if picker is None:
            continue
        clock.now = start + timedelta(minutes=pickup)
        await handoffs.claim(workspace=ACME, person=picker, handoff_id=h.id)
        clock.now = start + timedelta(minutes=action)
        await handoffs.record_first_action(workspace=ACME, person=picker, handoff_id=h.id)
    clock.now = NOW
    return handoffs, clock


async def test_stats_of_the_last_week(db):
    handoffs, _ = await scripted(db)
    stats = await handoffs.stats(workspace=ACME, days=7)
    assert (stats.count, stats.claimed) == (6, 5)
    assert stats.picked_up_share == pytest.approx(5 / 6)
    assert stats.time_to_claim_median_s == 4 * 60  # 1, 2, 4, 10, 30 minutes
    assert stats.time_to_claim_p90_s == 22 * 60  # inclusive method: 10 + 0.6 x (30 - 10)
    assert stats.time_to_first_action_median_s == 10 * 60  # 3, 5, 10, 20, 40
    assert stats.by_urgency == (("critical", 1), ("high", 1), ("normal", 3), ("low", 1))
    assert stats.top_pickers == (("Dana", 3), ("Carol", 2))
    assert stats.per_day == (0, 1, 1, 0, 1, 1, 2)  # 24-hour days ending now, oldest first
    assert (stats.open_now, stats.overdue_now) == (1, 0)


async def test_stats_of_thirty_days_and_of_nobody_else(db):
    handoffs, _ = await scripted(db)
    month = await handoffs.stats(workspace=ACME, days=30)
    assert (month.count, month.claimed, len(month.per_day)) == (8, 7, 30)
    assert month.top_pickers[0] == ("Dana", 4)
    other = await handoffs.stats(workspace=GLOBEX, days=30)
    assert (other.count, other.time_to_claim_median_s, other.open_now) == (0, None, 0)


async def test_overdue_now_counts_what_the_last_reminder_marked(db):
    from core.worker import Worker
    from tests.fakes.port import RecordingPort, run_due, services_with

    handoffs, clock = await scripted(db)
    services = services_with(db, RecordingPort(), handoffs=handoffs)
    await run_due(Worker(db, services.job_kinds(), clock=clock))
    stats = await handoffs.stats(workspace=ACME, days=7)
    assert (stats.open_now, stats.overdue_now) == (1, 1)


async def test_report_by_week_and_senior_with_time_saved(db):
    handoffs, _ = await scripted(db)
    report = await handoffs.report(since=NOW - timedelta(days=28), until=NOW, baseline_min=45)
    weeks = {w.label: (w.escalations, w.picked_up, w.median_first_action_s) for w in report.weeks}
    assert weeks == {
        "2026-W45": (1, 1, 16 * 60),  # Tue 3 Nov
        "2026-W46": (1, 1, 12 * 60),
        "2026-W47": (6, 5, 10 * 60),
    }
    seniors = {s.label: (s.picked_up, s.median_pickup_s, s.median_first_action_s) for s in report.seniors}
    assert seniors == {"Dana": (4, 6 * 60, 13 * 60), "Carol": (2, 15.5 * 60, 21.5 * 60), "Erin": (1, 360, 720)}
    total = report.total
    assert (total.escalations, total.acted_on, total.median_first_action_s) == (8, 7, 12 * 60)
    assert total.saved_per_escalation_min == 33 and total.saved_min == 33 * 7
    assert report.formula == (
        "saved per escalation = baseline 45 min - median time to first action 12.0 min = 33.0 min; "
        "saved per week = 33.0 min x 1.8 escalations acted on per week = 1.0 h"
    )


async def test_report_without_a_baseline_says_how_to_get_one(db):
    handoffs, _ = await scripted(db)
    report = await handoffs.report(since=NOW - timedelta(days=7), until=NOW, baseline_min=None)
    assert report.total.saved_min is None and "HANDOFF_BASELINE_MINUTES" in report.formula
    assert await handoffs.report(since=NOW, until=NOW, baseline_min=None, workspace_external_id="T-NOPE") is None
