"""Reminders as durable timers, on both databases, with the service's clock moved by hand.

Each test runs the real worker over the real outbox; `run_due` runs every job due at the clock's
current time, so a test reads like a timeline: escalate, move the clock, see what went out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import jobs as job_kinds
from core.handoffs import Handoffs
from core.models import Done, PersonKey, Refused, ReminderSchedule, Snoozed
from core.schedule import ReminderPolicy, parse_schedule
from core.worker import Worker
from db import outbox
from tests.factories import ACME, CAROL, DANA, JUNIOR, snapshot
from tests.fakes.port import RecordingPort, run_due, services_with

ADMIN = PersonKey("U-ADMIN", "Ada")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Rig:
    def __init__(self, db, *, schedule: str = "2s,4s", first_action: str = "15m") -> None:
        self.clock = Clock()
        policy = ReminderPolicy(parse_schedule(schedule), timedelta(seconds=_seconds(first_action)))
        self.handoffs = Handoffs(db, clock=self.clock, reminders=policy)
        self.port = RecordingPort()
        services = services_with(db, self.port, handoffs=self.handoffs)
        self.worker = Worker(db, services.job_kinds(), clock=self.clock, worker_id="test")
        self.db = db

    async def run_due(self) -> int:
        return await run_due(self.worker)

    async def at(self, seconds: float) -> None:
        """Move the clock to T0 + seconds and run what is due."""
        self.clock.now = T0 + timedelta(seconds=seconds)
        await self.run_due()

    async def escalate(self, *, target=None, urgency="normal"):
        await self.handoffs.register_workspace(ACME, channel="C-ESC")
        outcome = await self.handoffs.escalate(workspace=ACME, author=JUNIOR, target=target,
                                               snapshot=snapshot(urgency=urgency))
        await self.run_due()
        return outcome.handoff

    def nudges(self) -> list[tuple[int, int]]:
        """(step, waited_s) of each thread nudge, in the order they went out."""
        return [(r.detail["step"], r.detail["waited_s"]) for _, r in self.port.replies if r.kind == "nudge"]

    def dms(self, kind: str) -> list[str]:
        return [r.person.external_id for r in self.port.notified if r.kind == kind]


def _seconds(text: str) -> float:
    from core.schedule import parse_duration

    return parse_duration(text).total_seconds()


async def test_unclaimed_escalation_is_nudged_in_order_then_admins_are_told_once(db):
    rig = Rig(db)
    await rig.handoffs.bootstrap_admin(workspace=ACME, person=ADMIN)
    h = await rig.escalate(target=DANA)
    await rig.at(1.9)
    assert rig.nudges() == []
    await rig.at(2.0)
    assert rig.nudges() == [(1, 2)]
    assert rig.dms("nudge_target") == ["U-DANA"] and rig.dms("overdue_admin") == []
    await rig.at(4.5)
    assert rig.nudges() == [(1, 2), (2, 4)]
    assert rig.dms("nudge_target") == ["U-DANA", "U-DANA"]
    assert rig.dms("overdue_admin") == ["U-ADMIN"]
    state = await rig.handoffs.get(workspace=ACME, handoff_id=h.id)
    assert state.overdue_at == T0 + timedelta(seconds=4.5)
    assert rig.port.messages[state.card.message_ref]["version"] == state.version, "card not re-rendered as overdue"
    await rig.at(3600)
    assert len(rig.nudges()) == 2 and rig.dms("overdue_admin") == ["U-ADMIN"]


async def test_a_claim_between_nudges_stops_the_rest(db):
    rig = Rig(db)
    h = await rig.escalate()
    await rig.at(2)
    await rig.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    await rig.at(3600)
    assert rig.nudges() == [(2 - 1, 2)]
    reminders = [j for j in await _jobs(db, job_kinds.REMIND)]
    assert {j["state"] for j in reminders} == {"done"}, "a reminder job was left behind"


async def test_release_re_arms_from_the_release_time(db):
    rig = Rig(db)
    h = await rig.escalate()
    await rig.at(1)
    await rig.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    await rig.at(10)
    assert rig.nudges() == []
    assert isinstance(await rig.handoffs.release(workspace=ACME, person=DANA, handoff_id=h.id), Done)
    await rig.at(11.9)
    assert rig.nudges() == []
    await rig.at(12)
    assert rig.nudges() == [(1, 2)]
    await rig.at(14)
    assert rig.nudges() == [(1, 2), (2, 4)]


async def test_snooze_holds_nudges_off_for_an_hour(db):
    rig = Rig(db)
    h = await rig.escalate()
    await rig.at(1)
    snoozed = await rig.handoffs.snooze(workspace=ACME, person=JUNIOR, handoff_id=h.id)
    assert isinstance(snoozed, Snoozed) and snoozed.until == T0 + timedelta(seconds=3601)
    await rig.at(3600)
    assert rig.nudges() == []
    await rig.at(3601)
    assert rig.nudges() == [(1, 3601)]
    await rig.at(3602)
    assert len(rig.nudges()) == 1, "the next step came straight after the snoozed one"
    await rig.at(3603)
    assert rig.nudges() == [(1, 3601), (2, 3603)]
    snooze_jobs = await _jobs(db, job_kinds.REMIND)
    assert all(j["attempts"] <= 1 for j in snooze_jobs), "waiting out a snooze spent a try"


async def test_a_snooze_of_30_minutes_ends_on_time_and_the_card_is_shown_again_without_it(db):
    rig = Rig(db, schedule="1h,2h")
    h = await rig.escalate()
    await rig.at(1)
    snoozed = await rig.handoffs.snooze(workspace=ACME, person=JUNIOR, handoff_id=h.id, choice="30m")
    assert isinstance(snoozed, Snoozed) and snoozed.until == T0 + timedelta(seconds=1801)
    await rig.run_due()
    shown = len(rig.port.edits)
    await rig.at(1800)
    assert (await rig.handoffs.load(h.id)).snoozed_until is not None and len(rig.port.edits) == shown
    await rig.at(1801)
    ended = await rig.handoffs.load(h.id)
    assert ended.snoozed_until is None, "the snooze ended on time"
    assert rig.port.edits[-1] == (f"ts-{h.id}", ended.version), "the card was re-rendered at its end"
    await rig.at(1802)
    assert len(rig.port.edits) == shown + 1, "once"


async def test_a_second_snooze_outlives_the_first_ones_end_and_odd_choices_are_refused(db):
    rig = Rig(db, schedule="8h")
    h = await rig.escalate()
    await rig.handoffs.snooze(workspace=ACME, person=JUNIOR, handoff_id=h.id, choice="30m")
    await rig.at(60)
    again = await rig.handoffs.snooze(workspace=ACME, person=JUNIOR, handoff_id=h.id, choice="4h")
    await rig.at(1800)  # the first snooze's end: it was replaced, so nothing changes
    assert (await rig.handoffs.load(h.id)).snoozed_until == again.until == T0 + timedelta(seconds=60 + 4 * 3600)
    await rig.at(60 + 4 * 3600)
    assert (await rig.handoffs.load(h.id)).snoozed_until is None
    for odd in ("7m", "forever", "0s"):
        refused = await rig.handoffs.snooze(workspace=ACME, person=JUNIOR, handoff_id=h.id, choice=odd)
        assert isinstance(refused, Refused) and refused.reason == "snooze_choice", odd


async def test_only_the_author_or_an_admin_may_snooze(db):
    rig = Rig(db)
    h = await rig.escalate()
    refused = await rig.handoffs.snooze(workspace=ACME, person=CAROL, handoff_id=h.id)
    assert isinstance(refused, Refused) and refused.reason == "not_author_or_admin"
    await rig.handoffs.bootstrap_admin(workspace=ACME, person=ADMIN)
    assert isinstance(await rig.handoffs.snooze(workspace=ACME, person=ADMIN, handoff_id=h.id), Snoozed)
    await rig.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    late = await rig.handoffs.snooze(workspace=ACME, person=JUNIOR, handoff_id=h.id)
    assert isinstance(late, Refused) and late.reason == "not_open"


async def test_urgency_scales_the_schedule(db):
    rig = Rig(db, schedule="8s,16s")
    critical = await rig.escalate(urgency="critical")  # x0.25: 2 s, 4 s
    low = (await rig.handoffs.escalate(workspace=ACME, author=CAROL, snapshot=snapshot(urgency="low"))).handoff
    await rig.run_due()  # x2: 16 s, 32 s

    def steps(h):
        return [r.detail["step"] for ref, r in rig.port.replies if r.kind == "nudge" and ref == f"ts-{h.id}"]

    await rig.at(2)
    await rig.at(4)
    assert steps(critical) == [1, 2] and steps(low) == []
    await rig.at(15.9)
    assert steps(low) == []
    await rig.at(16)
    assert steps(low) == [1]


async def test_a_replayed_step_nudges_once(db):
    rig = Rig(db)
    h = await rig.escalate()
    await rig.at(2)
    # The step's job runs again (a crash after its commit, or a second replica holding a copy).
    async with db.transaction() as conn:
        await outbox.enqueue_all(conn, [job_kinds.remind_step(h.id, base=T0, step=0, due=rig.clock(), now=rig.clock())])
    await rig.run_due()
    assert rig.nudges() == [(1, 2)]


async def test_owner_with_no_first_action_is_nudged_privately_once(db):
    rig = Rig(db, first_action="15m")
    h = await rig.escalate()
    await rig.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    await rig.at(15 * 60 - 1)
    assert rig.dms("first_action") == []
    await rig.at(15 * 60)
    assert rig.dms("first_action") == ["U-DANA"]
    await rig.at(2 * 3600)
    assert rig.dms("first_action") == ["U-DANA"]


async def test_a_first_action_in_time_means_no_nudge(db):
    rig = Rig(db, first_action="15m")
    h = await rig.escalate()
    await rig.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
    await rig.at(60)
    assert await rig.handoffs.record_first_action(workspace=ACME, person=DANA, handoff_id=h.id)
    await rig.at(3600)
    assert rig.dms("first_action") == []


async def test_admins_set_the_workspace_schedule_and_escalations_follow_it(db):
    rig = Rig(db, schedule="2s,4s")
    await rig.handoffs.register_workspace(ACME, channel="C-ESC")
    refused = await rig.handoffs.set_reminder_schedule(workspace=ACME, admin=CAROL, schedule="1s")
    assert isinstance(refused, Refused) and refused.reason == "not_admin"
    await rig.handoffs.bootstrap_admin(workspace=ACME, person=ADMIN)
    bad = await rig.handoffs.set_reminder_schedule(workspace=ACME, admin=ADMIN, schedule="5m,1m")
    assert isinstance(bad, Refused) and bad.reason == "invalid" and "later than the one before" in bad.detail
    changed = await rig.handoffs.set_reminder_schedule(workspace=ACME, admin=ADMIN, schedule="1s, 60s")
    assert changed == ReminderSchedule("1s,1m", is_default=False)
    assert await rig.handoffs.reminder_schedule(workspace=ACME) == changed
    await rig.escalate()
    await rig.at(1)
    assert rig.nudges() == [(1, 1)]
    await rig.at(59)
    assert len(rig.nudges()) == 1
    back = await rig.handoffs.set_reminder_schedule(workspace=ACME, admin=ADMIN, schedule="")
    assert back == ReminderSchedule("2s,4s", is_default=True)


async def _jobs(db, kind):
    async with db.transaction() as conn:
        return await outbox.list_jobs(conn, kind=kind)
