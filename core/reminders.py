"""Commands about reminders: snooze one escalation, read or change a workspace's schedule.

The nudges themselves are jobs (core/nudges.py); these only change what those jobs will find.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from core import jobs as job_kinds
from core.models import PersonKey, Refused, ReminderSchedule, Snoozed, WorkspaceKey
from core.rows import handoff_from_row
from core.schedule import ScheduleError, format_schedule, parse_schedule, snooze_for
from core.scope import Scoped
from db import reminders as reminders_db
from db import outbox, store

SCHEDULE_SETTING = "reminders"


class ReminderCommands(Scoped):
    async def snooze(self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID,
                     choice: str | None = None) -> Snoozed | Refused:
        """The author or an admin holds this escalation's reminders off for one of SNOOZE_CHOICES (`choice`:
        '30m', '1h', '4h'; none: the policy's default). When it runs out a job re-renders the card."""
        now = self.clock()
        length = snooze_for(choice, default=self.reminders.snooze)
        if length is None:
            return Refused("snooze_choice")
        until = now + length
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            actor = await self._person(conn, ws_id, person)
            done = await reminders_db.snooze(
                conn, handoff_id=handoff_id, workspace_id=ws_id, person_id=actor.id, until=until, now=now
            )
            row = await store.load_handoff(conn, handoff_id, workspace_id=ws_id)
            if row is None:
                return Refused("not_found")
            state = handoff_from_row(row)
            if not done:
                if state.status != "open" or state.intent != "escalate":
                    return Refused("not_open", state)
                return Refused("not_author_or_admin", state)
            await store.insert_event(
                conn, workspace_id=ws_id, handoff_id=handoff_id, kind="snoozed", actor_id=actor.id,
                data={"until": until.isoformat()}, now=now,
            )
            await outbox.enqueue_all(conn, [job_kinds.card_sync(handoff_id, now=now),
                                            job_kinds.snooze_end(handoff_id, until=until, now=now)])
            return Snoozed(state, until)

    async def reminder_schedule(self, *, workspace: WorkspaceKey) -> ReminderSchedule:
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            own = (await reminders_db.workspace_settings(conn, ws_id)).get(SCHEDULE_SETTING)
        policy = self.reminders.with_steps(own)
        return ReminderSchedule(format_schedule(policy.steps), is_default=policy == self.reminders)

    async def set_reminder_schedule(
        self, *, workspace: WorkspaceKey, admin: PersonKey, schedule: str
    ) -> ReminderSchedule | Refused:
        """An admin sets the workspace's schedule ('10m,30m,60m'); an empty one goes back to the default.
        Escalations already waiting pick it up at their next step."""
        text = schedule.strip()
        try:
            steps = parse_schedule(text) if text else None
        except ScheduleError as error:
            return Refused("invalid", detail=str(error))
        if steps == ():
            return Refused("invalid", detail="give at least one reminder, e.g. 10m,30m,60m")
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            actor = await self._person(conn, ws_id, admin)
            if actor.role != "admin":
                return Refused("not_admin")
            value = format_schedule(steps) if steps else None
            await reminders_db.update_workspace_settings(conn, workspace_id=ws_id, changes={SCHEDULE_SETTING: value})
            await store.insert_event(
                conn, workspace_id=ws_id, kind="reminders_set", actor_id=actor.id,
                data={"schedule": value}, now=self.clock(),
            )
        policy = self.reminders.with_steps(value)
        return ReminderSchedule(format_schedule(policy.steps), is_default=value is None)

    async def _reminder_jobs(
        self, conn, ws_id: int, handoff_id: uuid.UUID, *, base: datetime, now: datetime
    ) -> list[dict[str, Any]]:
        """The first reminder step, on the workspace's schedule (or the default), scaled by urgency."""
        settings = await reminders_db.workspace_settings(conn, ws_id)
        policy = self.reminders.with_steps(settings.get("reminders"))
        row = await store.load_handoff(conn, handoff_id)
        urgency = (row["snapshot"] or {}).get("urgency", "normal") if row is not None else "normal"
        due = policy.due_after(0, urgency)
        if due is None:
            return []
        return [job_kinds.remind_step(handoff_id, base=base, step=0, due=base + due, now=now)]
