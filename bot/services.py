"""Everything the process runs on, built once per application from Settings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.config import Settings
from bot.inflight import InFlight
from bot.metrics import PrometheusTelemetry
from cards import psa_messages
from cards.messages import Message
from core.assessment import Assessments, Assessor
from core.budget import CallSlots, LocalCallSlots, LocalPacer, PostPacer
from core.claude import ClaudeAssessor
from core.delivery import CardDelivery, Deliveries
from core.handoffs import Handoffs
from core.models import WorkspaceKey
from core.psa_form import TicketProblem
from core.snapshot import Invalid, Snapshot
from core.nudges import Nudges
from core.worker import JobKind, Worker
from db.budget import PgCallSlots, PgPacer
from db.engine import Database
from db.tables import utcnow
from psa.assign import PsaAssign
from psa.connection import Vault, from_environment
from psa.directory import Directory
from psa.jobs import KIND as PSA_NOTE
from psa.jobs import PsaNotes
from psa.settings import PsaSettings
from psa.tickets import TicketChecker

log = logging.getLogger("handoff.services")
TEST_TIMEOUT_S = 4.0  # an admin's "Test connection" is answered while they wait (a Teams invoke)


def build_assessor(settings: Settings) -> Assessor | None:
    """No API key -> no model; the assessment job then falls back (the bot still works)."""
    if not settings.anthropic_api_key:
        return None
    return ClaudeAssessor(
        api_key=settings.anthropic_api_key,
        base_url=settings.anthropic_base_url,
        model=settings.ai_model,
        timeout_s=settings.ai_timeout_s,
        max_retries=settings.ai_max_retries,
        concurrency=settings.ai_concurrency,
    )


@dataclass
class Services:
    settings: Settings
    database: Database
    handoffs: Handoffs
    assessor: Assessor | None = None
    ports: dict[str, CardDelivery] = field(default_factory=dict)
    # The platforms' budgets: shared by every replica on PostgreSQL, by this process's loops on SQLite.
    pacer: PostPacer | None = None
    model_slots: CallSlots | None = None
    telemetry: PrometheusTelemetry = field(default_factory=PrometheusTelemetry)
    psa: PsaNotes | None = None
    tickets: TicketChecker | None = None
    psa_settings: PsaSettings | None = None
    # Requests and listener runs still working after their ack: a graceful stop waits for them (bot/inflight.py).
    inflight: InFlight = field(default_factory=InFlight)
    # Elapsed time for in-process caches (seconds, only compared with itself): tests move it by hand.
    monotonic: Callable[[], float] = time.monotonic

    async def check_ticket(self, workspace: WorkspaceKey, snapshot: Snapshot, *,
                           render: Callable[[Message], str]) -> Snapshot | Invalid:
        """At submit: the PSA's word on the ticket reference (best effort, short timeout); a problem with
        it is the ticket field's error, in the platform's rendering (`render`) of its view."""
        if self.tickets is None:
            return snapshot
        checked = await self.tickets.annotate(self.handoffs, workspace, snapshot)
        if isinstance(checked, TicketProblem):
            return Invalid({"ticket": render(psa_messages.ticket_problem(checked))})
        return checked

    def __post_init__(self) -> None:
        shared = self.database.is_postgresql
        if self.pacer is None:
            self.pacer = PgPacer(self.database) if shared else LocalPacer()
        if self.model_slots is None:
            self.model_slots = PgCallSlots(self.database, limit=self.settings.ai_concurrency) if shared \
                else LocalCallSlots()
        if self.psa is not None:
            self.psa.ports = self.ports  # the same dict the adapters fill at install: notes name people as shown

    def job_kinds(self) -> dict[str, JobKind]:
        return {
            **Deliveries(self.handoffs, self.ports, pacer=self.pacer).job_kinds(),
            **Assessments(self.handoffs, self.assessor, slots=self.model_slots).job_kinds(),
            **Nudges(self.handoffs).job_kinds(),
            **(self.psa.job_kinds() if self.psa else {}),
            **(PsaAssign(self.psa).job_kinds() if self.psa else {}),
        }

    def worker(self) -> Worker:
        return Worker(
            self.database,
            self.job_kinds(),
            concurrency=self.settings.worker_concurrency,
            lease_s=self.settings.job_lease_s,
            poll_s=self.settings.job_poll_s,
        )


def build_psa(settings: Settings, handoffs: Handoffs) -> tuple[PsaNotes, TicketChecker, PsaSettings]:
    """PSA notes, the ticket check and the admins' settings: the environment's connection
    (single-workspace mode) and any stored per workspace (which wins)."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    default = from_environment(settings.psa_environment())
    if default is not None and settings.slack_oauth_enabled:
        # Many workspaces: one environment connection would write every workspace's notes into one PSA.
        log.warning("SLACK_CLIENT_ID is set, so HANDOFF_PSA is ignored: each workspace stores its own PSA connection")
        default = None
    directory = Directory(handoffs.db, vault=Vault(key) if key else None, default=default, assign=settings.psa_assign)
    notes = PsaNotes(
        handoffs, directory, timeout_s=settings.psa_timeout_s, retry_base_s=settings.psa_retry_base_s,
        retry_cap_s=settings.psa_retry_cap_s, card_wait_s=settings.psa_card_wait_s,
    )
    return notes, TicketChecker(directory, timeout_s=settings.psa_check_timeout_s), \
        PsaSettings(handoffs, directory, timeout_s=min(settings.psa_timeout_s, TEST_TIMEOUT_S))


def build_services(settings: Settings, *, clock: Callable[[], datetime] = utcnow,
                   monotonic: Callable[[], float] = time.monotonic) -> Services:
    """Everything the app runs on. `clock`: the service's time; `monotonic`: how long caches keep things
    (tests move both by hand)."""
    database = Database(settings.database_url)
    telemetry = PrometheusTelemetry()
    handoffs = Handoffs(
        database, observers=(PSA_NOTE,), reminders=settings.reminder_policy(),
        assessment_deadline=settings.ai_deadline, telemetry=telemetry, clock=clock,
    )
    notes, tickets, psa_settings = build_psa(settings, handoffs)
    return Services(
        settings=settings,
        database=database,
        handoffs=handoffs,
        assessor=build_assessor(settings),
        psa=notes,
        tickets=tickets,
        psa_settings=psa_settings,
        telemetry=telemetry,
        monotonic=monotonic,
    )
