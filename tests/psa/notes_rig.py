"""The note jobs on a real database against a PSA fake: handoffs, the runner and a worker, no chat platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.assessment import Assessments
from core.handoffs import Handoffs
from core.worker import Worker
from db import outbox
from psa.assign import PsaAssign
from psa.connection import PsaConnection, Vault
from psa.directory import Directory
from psa.jobs import ASSIGN_KIND, KIND, PsaNotes
from tests.fakes.port import RecordingPort

KEY = "SsJz0QGtTVD98ahBImQfb1AeZEJs2dNmXRT43Vhr0ag="  # a Fernet key for tests only


class Clock:
    """Real time plus whatever a test skips ahead (so retries still fall due)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


@dataclass
class NotesRig:
    handoffs: Handoffs
    notes: PsaNotes
    directory: Directory
    worker: Worker
    clock: Clock
    port: RecordingPort  # the chat platform, as far as the assign job asks it for emails

    async def drain(self, timeout_s: float = 20.0) -> None:
        await self.worker.drain(timeout_s=timeout_s)

    async def jobs(self, handoff_id, kind: str = KIND):
        async with self.handoffs.db.transaction() as conn:
            return [dict(j) for j in await outbox.list_jobs(conn, handoff_id=handoff_id, kind=kind)]

    async def assign_jobs(self, handoff_id):
        return await self.jobs(handoff_id, ASSIGN_KIND)


@asynccontextmanager
async def notes_rig(db, default: PsaConnection | None = None, *, secret_key: str | None = KEY,
                    assign: bool = False) -> AsyncIterator[NotesRig]:
    clock = Clock()
    handoffs = Handoffs(db, clock=clock, observers=(KIND,))
    directory = Directory(db, vault=Vault(secret_key) if secret_key else None, default=default, assign=assign)
    port = RecordingPort()
    notes = PsaNotes(handoffs, directory, timeout_s=2.0, retry_base_s=0.05, retry_cap_s=0.5, card_wait_s=0,
                     ports={port.platform: port})
    kinds = {**Assessments(handoffs, None).job_kinds(), **notes.job_kinds(),
             **PsaAssign(notes).job_kinds()}
    worker = Worker(db, kinds, poll_s=0.05, backoff_base_s=0.05, backoff_cap_s=0.5, clock=clock)
    yield NotesRig(handoffs, notes, directory, worker, clock, port)
