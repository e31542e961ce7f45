"""The handoff service: workspace setup, escalate and park. Claiming is core/claims.py, the guarded
transitions after it core/transitions.py; Handoffs is all of them, for callers.

One call = one transaction. The jobs a change causes commit with it (DESIGN invariant 4).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from core import jobs as job_kinds
from core import observers, telemetry
from core.claims import Claims
from core.models import (
    ROLES,
    ChannelChange,
    Done,
    Escalated,
    NoChannel,
    Person,
    PersonKey,
    Refused,
    TransitionOutcome,
    Workspace,
    WorkspaceKey,
)
from core.reads import HandoffReads
from core.reminders import ReminderCommands
from core.rows import handoff_from_row, person_from_row, workspace_from_row
from core.snapshot import Snapshot
from core.transitions import Transitions
from core.workspaces import WorkspaceRemoval
from db import outbox, store

class Handoffs(Claims, Transitions, ReminderCommands, HandoffReads, WorkspaceRemoval):
    """Commands: each call is one transaction, and the jobs it causes commit with it."""

    async def register_workspace(
        self, key: WorkspaceKey, *, channel: str | None = None, conversation_ref: dict | None = None
    ) -> Workspace:
        """Make the workspace known. `channel`: the installation's configured escalation channel (the
        environment's HANDOFF_SLACK_CHANNEL / HANDOFF_TEAMS_CHANNEL_ID). The one policy on both platforms:
        a channel chosen in chat (set_channel) wins; until one is, the configured channel applies and
        follows the configuration when it changes."""
        async with self._transaction() as conn:
            workspace = await self._workspace(conn, key)
            applies = channel is not None and not workspace.channel_set_in_chat
            if applies and (channel, conversation_ref) != (workspace.escalation_channel, workspace.conversation_ref):
                await store.set_workspace_channel(
                    conn, workspace_id=workspace.id, channel=channel, conversation_ref=conversation_ref
                )
                row = await store.get_workspace_by_id(conn, workspace.id)
                workspace = workspace_from_row(row)
            return workspace

    async def set_role(
        self, *, workspace: WorkspaceKey, admin: PersonKey, person: PersonKey, role: str
    ) -> Person | Refused:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            acting = await self._person(conn, ws_id, admin)
            if acting.role != "admin":
                return Refused("not_owner")
            subject = await self._person(conn, ws_id, person)
            await store.set_role(conn, person_id=subject.id, role=role)
            await store.insert_event(
                conn,
                workspace_id=ws_id,
                kind="role_set",
                actor_id=acting.id,
                data={"person": subject.external_id, "role": role},
                now=self.clock(),
            )
            return replace(subject, role=role)

    async def bootstrap_admin(self, *, workspace: WorkspaceKey, person: PersonKey) -> Person:
        """Make someone an admin without an admin's say-so: for the installer and the CLI."""
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            subject = await self._person(conn, ws_id, person)
            await store.set_role(conn, person_id=subject.id, role="admin")
            return replace(subject, role="admin")

    async def set_channel(
        self, *, workspace: WorkspaceKey, person: PersonKey, channel: str, conversation_ref: dict | None = None
    ) -> ChannelChange:
        """An admin moves the escalation channel. While there is no channel, or no admin at all,
        the asker becomes the first admin: someone must. One transaction, with the workspace row
        locked by its upsert, so two people racing in a new workspace cannot both become admin."""
        async with self._transaction() as conn:
            ws = await self._workspace(conn, workspace)
            actor = await self._person(conn, ws.id, person)
            admins = tuple(person_from_row(r) for r in await store.list_admins(conn, workspace_id=ws.id))
            first_admin = False
            if actor.role != "admin":
                if ws.escalation_channel and admins:
                    return ChannelChange(changed=False, first_admin=False, admins=admins)
                await store.set_role(conn, person_id=actor.id, role="admin")
                first_admin = True
                admins = (*admins, replace(actor, role="admin"))
            await store.set_workspace_channel(
                conn, workspace_id=ws.id, channel=channel, conversation_ref=conversation_ref, in_chat=True
            )
            await store.insert_event(
                conn, workspace_id=ws.id, kind="channel_set", actor_id=actor.id,
                data={"channel": channel, "first_admin": first_admin}, now=self.clock(),
            )
            return ChannelChange(changed=True, first_admin=first_admin, admins=admins)

    # --- creating ----------------------------------------------------------------------

    async def escalate(
        self,
        *,
        workspace: WorkspaceKey,
        author: PersonKey,
        snapshot: Snapshot,
        target: PersonKey | None = None,
        idempotency_key: str | None = None,
    ) -> Escalated | NoChannel | Refused:
        """Record an escalation and, in the same transaction, the jobs that post and assess it."""
        return await self._create(
            workspace=workspace,
            author=author,
            snapshot=snapshot,
            target=target,
            idempotency_key=idempotency_key,
            intent="escalate",
        )

    async def park(
        self,
        *,
        workspace: WorkspaceKey,
        author: PersonKey,
        snapshot: Snapshot,
        target: PersonKey | None = None,
        idempotency_key: str | None = None,
    ) -> Escalated | Refused:
        """Keep a snapshot privately for later; nobody else sees it until it is escalated."""
        return await self._create(
            workspace=workspace,
            author=author,
            snapshot=snapshot,
            target=target,
            idempotency_key=idempotency_key,
            intent="park",
        )

    async def _create(
        self,
        *,
        workspace: WorkspaceKey,
        author: PersonKey,
        snapshot: Snapshot,
        target: PersonKey | None,
        idempotency_key: str | None,
        intent: str,
    ) -> Escalated | NoChannel | Refused:
        now = self.clock()
        async with self._transaction() as conn:
            ws = await self._workspace(conn, workspace)
            if intent == "escalate" and not ws.escalation_channel:
                return NoChannel(ws)
            person = await self._person(conn, ws.id, author)
            target_person = await self._person(conn, ws.id, target) if target else None
            if target_person is not None and target_person.id == person.id:
                return Refused("self_target")
            handoff_id = uuid.uuid4()
            inserted = await store.insert_handoff(
                conn,
                {
                    "id": handoff_id,
                    "workspace_id": ws.id,
                    "intent": intent,
                    "status": "open",
                    "created_by": person.id,
                    "target_id": target_person.id if target_person else None,
                    "snapshot": snapshot.to_json(),
                    "assessment_state": "pending",
                    "version": 1,
                    "idempotency_key": idempotency_key,
                    "escalated_at": now if intent == "escalate" else None,
                    "reminders_from": now if intent == "escalate" else None,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if not inserted:
                existing = await store.find_handoff_id(
                    conn, workspace_id=ws.id, idempotency_key=idempotency_key
                )
                state = handoff_from_row(await store.load_handoff(conn, existing))
                return Escalated(state, created=False)
            await store.insert_event(
                conn,
                workspace_id=ws.id,
                handoff_id=handoff_id,
                kind="created" if intent == "escalate" else "parked",
                actor_id=person.id,
                now=now,
            )
            if intent == "escalate":
                await self._enqueue_escalation_jobs(conn, ws, handoff_id, target_person, now)
            state = handoff_from_row(await store.load_handoff(conn, handoff_id))
            if intent == "escalate":
                await observers.tell(conn, self.observers, state, event="escalated", now=now, actor_id=person.id)
        if intent == "escalate":
            self.telemetry.count(telemetry.ESCALATIONS, urgency=snapshot.urgency)
        return Escalated(state, created=True)

    async def _enqueue_escalation_jobs(
        self, conn, ws: Workspace, handoff_id: uuid.UUID, target: Person | None, now: datetime
    ) -> None:
        await store.insert_card(
            conn, handoff_id=handoff_id, platform=ws.platform, channel=ws.escalation_channel, now=now
        )
        await outbox.enqueue_all(
            conn,
            [
                job_kinds.card_sync(handoff_id, now=now),
                job_kinds.assess_deadline(handoff_id, due=now + self.assessment_deadline, now=now),
                *await self._reminder_jobs(conn, ws.id, handoff_id, base=now, now=now),
            ],
        )
        await outbox.enqueue(
            conn,
            kind=job_kinds.ASSESS,
            handoff_id=handoff_id,
            dedupe_key=job_kinds.assess_key(handoff_id),
            now=now,
            max_attempts=job_kinds.ASSESS_MAX_ATTEMPTS,
        )
        if target is not None:
            await outbox.enqueue_all(conn, [job_kinds.message(
                job_kinds.NOTIFY_TARGET, handoff_id=handoff_id, reply="notify_target", person_id=target.id,
                key=f"notify_target:{target.id}", now=now,
            )])

    async def escalate_parked(
        self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID
    ) -> TransitionOutcome | NoChannel:
        """Turn the author's parked snapshot into a live escalation (card, assessment, notify)."""
        now = self.clock()
        async with self._transaction() as conn:
            ws = await self._workspace(conn, workspace)
            actor = await self._person(conn, ws.id, person)
            if not ws.escalation_channel:
                return NoChannel(ws)
            version = await store.transition_handoff(
                conn,
                handoff_id=handoff_id,
                workspace_id=ws.id,
                guard={"intent": "park", "status": "open", "created_by": actor.id},
                values={"intent": "escalate", "escalated_at": now, "reminders_from": now},
                now=now,
            )
            if version is None:
                return await self._refusal(conn, ws.id, handoff_id, actor, wanted="author")
            row = await store.load_handoff(conn, handoff_id)
            target = person_from_row(row, "p_target")
            await store.insert_event(
                conn, workspace_id=ws.id, handoff_id=handoff_id, kind="created", actor_id=actor.id, now=now
            )
            await self._enqueue_escalation_jobs(conn, ws, handoff_id, target, now)
            state = handoff_from_row(await store.load_handoff(conn, handoff_id))
            await observers.tell(conn, self.observers, state, event="escalated", now=now, actor_id=actor.id)
            return Done(state)
