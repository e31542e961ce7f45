"""The handoff service: escalate, park, claim and the guarded transitions after it.

One call = one transaction. The jobs a change causes commit with it (DESIGN invariant 4).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from core import jobs as job_kinds
from core import telemetry
from core import observers
from core.models import (
    ROLES,
    AlreadyYours,
    ChannelChange,
    ClaimOutcome,
    Done,
    Escalated,
    Lost,
    NoChannel,
    Person,
    PersonKey,
    Refused,
    TransitionOutcome,
    Won,
    Workspace,
    WorkspaceKey,
)
from core.rows import handoff_from_row, person_from_row, workspace_from_row
from core.snapshot import Snapshot
from core.reads import HandoffReads
from core.reminders import ReminderCommands
from core.workspaces import WorkspaceRemoval
from db import outbox, store
from db import reminders as reminders_db


_CLAIM_OUTCOMES = {AlreadyYours: "already_yours", Lost: "lost", Refused: "refused"}


class Handoffs(ReminderCommands, HandoffReads, WorkspaceRemoval):
    """Commands: each call is one transaction, and the jobs it causes commit with it."""

    # The winning claim as one statement on PostgreSQL; False runs it as separate statements in a
    # transaction, as before (bench/claims.py measures both in one run).
    claim_in_one_statement = True

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

    # --- claiming ------------------------------------------------------------------------

    async def claim(
        self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID
    ) -> ClaimOutcome:
        """Exactly one engineer wins. The conditional UPDATE's row count decides (invariant 2);
        reads happen only afterwards, to tell a loser who won or why they were refused."""
        now = self.clock()
        # Learning ids (first click of a person) is an idempotent upsert; the claim itself is one
        # statement on PostgreSQL: the conditional UPDATE with its event and jobs (db.store).
        async with self._transaction(one_statement=self.claim_in_one_statement) as conn:
            ws_id = await self._workspace_id(conn, workspace)
            claimer_id = await self._person_id(conn, ws_id, person)
            row = await store.claim_handoff(
                conn,
                in_steps=not self.claim_in_one_statement,
                handoff_id=handoff_id,
                workspace_id=ws_id,
                person_id=claimer_id,
                now=now,
                event=store.event_row(
                    workspace_id=ws_id, handoff_id=handoff_id, kind="claimed", actor_id=claimer_id, now=now
                ),
                jobs=self._claimed_jobs(handoff_id, claimer_id, now),
            )
        if row is None:
            async with self._transaction() as conn:
                outcome = await self._claim_lost(conn, ws_id, claimer_id, handoff_id, now)
            self.telemetry.count(telemetry.CLAIMS, outcome=_CLAIM_OUTCOMES[type(outcome)])
            return outcome
        state = handoff_from_row(row)
        if self.observers and state.snapshot.ticket:
            # Integrations hear of it in a second short transaction (keyed by version, so a replay
            # adds nothing); only ticketed handoffs pay for it.
            async with self._transaction() as conn:
                await observers.tell(conn, self.observers, state, event="claimed", now=now, actor_id=claimer_id,
                                     to_pickup_s=observers.seconds(state.escalated_at, now))
        self.telemetry.count(telemetry.CLAIMS, outcome="won")
        self.telemetry.observe(telemetry.TIME_TO_PICKUP, (now - (state.escalated_at or state.created_at)).total_seconds())
        return Won(state)

    def _claimed_jobs(self, handoff_id: uuid.UUID, claimer_id: int, now: datetime) -> list[dict[str, Any]]:
        return [
            job_kinds.card_sync(handoff_id, now=now),
            # One per claim (keyed by who and when): a re-claim after a release gets its own reply.
            job_kinds.message(
                job_kinds.THREAD_REPLY, handoff_id=handoff_id, reply="claimed", person_id=claimer_id,
                key=f"claimed:{claimer_id}:{now.isoformat()}", now=now,
            ),
            # The owner hears privately, once, if nothing visible follows (core/nudges.py).
            job_kinds.first_action_nudge(
                handoff_id, person_id=claimer_id, claimed_at=now, due=now + self.reminders.first_action, now=now
            ),
        ]

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

    async def _claim_lost(self, conn, ws_id: int, claimer_id: int, handoff_id: uuid.UUID, now: datetime) -> ClaimOutcome:
        row = await store.load_handoff(conn, handoff_id, workspace_id=ws_id)
        if row is None:
            return Refused("not_found")
        state = handoff_from_row(row)
        if state.status == "claimed" and state.claimed_by is not None and state.claimed_by.id == claimer_id:
            return AlreadyYours(state)
        claimer = person_from_row(await store.get_person(conn, claimer_id))
        if claimer.role == "viewer" or state.claimed_by is None or state.status != "claimed":
            # A resolved or cancelled escalation keeps its owner, but nobody lost a race for it.
            own = state.author.id == claimer_id and state.status == "open"
            reason = "viewer" if claimer.role == "viewer" else "own_escalation" if own else "not_open"
            await store.insert_event(
                conn, workspace_id=ws_id, handoff_id=handoff_id, kind="claim_refused",
                actor_id=claimer_id, data={"reason": reason}, now=now,
            )
            return Refused(reason, state)
        # One thread reply per losing person per winner, however often they click.
        first = await store.insert_event(
            conn,
            workspace_id=ws_id,
            handoff_id=handoff_id,
            kind="conflict",
            actor_id=claimer_id,
            data={"winner": state.claimed_by.external_id},
            dedupe_key=f"conflict:{handoff_id}:{state.claimed_by.id}:{claimer_id}",
            now=now,
        )
        if first:
            await outbox.enqueue_all(conn, [job_kinds.message(
                job_kinds.THREAD_REPLY, handoff_id=handoff_id, reply="conflict", person_id=claimer_id,
                key=f"conflict:{claimer_id}:{state.claimed_by.id}", now=now, winner_id=state.claimed_by.id,
                claimed_at=state.claimed_at.isoformat() if state.claimed_at else None,
            )])
        return Lost(state, winner=state.claimed_by, claimed_at=state.claimed_at)

    # --- guarded transitions ----------------------------------------------------------

    async def release(self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID) -> TransitionOutcome:
        """The owner hands the escalation back to the queue."""
        now = self.clock()
        return await self._transition(
            workspace, person, handoff_id,
            kind="released",
            guard_for=lambda actor: {"status": "claimed", "claimed_by": actor.id},
            values={
                "status": "open", "claimed_by": None, "claimed_at": None, "first_action_at": None,
                "reminders_from": now, "snoozed_until": None, "overdue_at": None,
            },
            wanted="owner",
            now=now,
            more_jobs=lambda conn, ws_id: self._reminder_jobs(conn, ws_id, handoff_id, base=now, now=now),
        )

    async def resolve(self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID) -> TransitionOutcome:
        """The owner marks it done."""
        return await self._transition(
            workspace, person, handoff_id,
            kind="resolved",
            guard_for=lambda actor: {"status": "claimed", "claimed_by": actor.id},
            values={"status": "resolved", "closed_at": self.clock()},
            wanted="owner",
        )

    async def cancel(self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID) -> TransitionOutcome:
        """The author withdraws an escalation nobody has picked up (or a parked one)."""
        return await self._transition(
            workspace, person, handoff_id,
            kind="cancelled",
            guard_for=lambda actor: {"status": "open", "created_by": actor.id},
            values={"status": "cancelled", "closed_at": self.clock()},
            wanted="author",
        )

    async def _transition(
        self,
        workspace: WorkspaceKey,
        person: PersonKey,
        handoff_id: uuid.UUID,
        *,
        kind: str,
        guard_for: Callable[[Person], dict[str, Any]],
        values: dict[str, Any],
        wanted: str,
        now: datetime | None = None,
        more_jobs: Callable[[Any, int], Awaitable[list[dict[str, Any]]]] | None = None,
    ) -> TransitionOutcome:
        now = now or self.clock()
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            actor = await self._person(conn, ws_id, person)
            before = None
            if self.observers and kind in ("released", "resolved"):
                before = await store.load_handoff(conn, handoff_id, workspace_id=ws_id)
            version = await store.transition_handoff(
                conn, handoff_id=handoff_id, workspace_id=ws_id, guard=guard_for(actor), values=values, now=now
            )
            if version is None:
                return await self._refusal(conn, ws_id, handoff_id, actor, wanted=wanted)
            await store.insert_event(
                conn, workspace_id=ws_id, handoff_id=handoff_id, kind=kind, actor_id=actor.id, now=now
            )
            extra = await more_jobs(conn, ws_id) if more_jobs is not None else []
            await outbox.enqueue_all(conn, [job_kinds.card_sync(handoff_id, now=now), *extra])
            state = handoff_from_row(await store.load_handoff(conn, handoff_id))
            if before is not None:
                await observers.tell(conn, self.observers, state, event=kind, now=now, actor_id=actor.id,
                                     **observers.times(handoff_from_row(before), now))
            return Done(state)

    async def _refusal(self, conn, ws_id: int, handoff_id: uuid.UUID, actor: Person, *, wanted: str) -> Refused:
        row = await store.load_handoff(conn, handoff_id, workspace_id=ws_id)
        if row is None:
            return Refused("not_found")
        state = handoff_from_row(row)
        if wanted == "owner" and (state.claimed_by is None or state.claimed_by.id != actor.id):
            return Refused("not_owner", state)
        if wanted == "author" and state.author.id != actor.id:
            return Refused("not_author", state)
        return Refused("not_open", state)

    async def set_notice(self, handoff_id: uuid.UUID, notice: str | None) -> bool:
        """An integration's one line for the card's footer (None clears it); the card re-renders."""
        now = self.clock()
        async with self._transaction() as conn:
            row = await store.load_handoff(conn, handoff_id)
            if row is None or row["notice"] == notice:
                return False
            await store.transition_handoff(conn, handoff_id=handoff_id, workspace_id=row["workspace_id"], guard={},
                                           values={"notice": notice}, now=now)
            await outbox.enqueue_all(conn, [job_kinds.card_sync(handoff_id, now=now)])
            return True

    async def record_first_action(
        self, *, workspace: WorkspaceKey, person: PersonKey, handoff_id: uuid.UUID
    ) -> bool:
        """The owner did something visible (first message in the card's thread). Counted once."""
        now = self.clock()
        async with self._transaction() as conn:
            ws_id = await self._workspace_id(conn, workspace)
            actor = await self._person(conn, ws_id, person)
            recorded = await store.set_first_action(conn, handoff_id=handoff_id, person_id=actor.id, now=now)
            if recorded:
                await store.insert_event(
                    conn, workspace_id=ws_id, handoff_id=handoff_id, kind="first_action", actor_id=actor.id, now=now
                )
                row = await store.load_handoff(conn, handoff_id)
        if recorded:
            started = row["escalated_at"] or row["created_at"]
            self.telemetry.observe(telemetry.TIME_TO_FIRST_ACTION, (now - started).total_seconds())
        return recorded
