"""Everything the process runs on, built once per application from Settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from core.assessment import Assessments, Assessor
from core.budget import LocalPacer, PostPacer
from core.claude import ClaudeAssessor
from core.delivery import CardDelivery, Deliveries
from core.handoffs import Handoffs
from core.worker import JobKind, Worker
from db.engine import Database


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
    pacer: PostPacer = field(default_factory=LocalPacer)  # one per process: every worker loop shares it

    def job_kinds(self) -> dict[str, JobKind]:
        return {
            **Deliveries(self.handoffs, self.ports, pacer=self.pacer).job_kinds(),
            **Assessments(self.handoffs, self.assessor).job_kinds(),
        }

    def worker(self) -> Worker:
        return Worker(
            self.database,
            self.job_kinds(),
            concurrency=self.settings.worker_concurrency,
            lease_s=self.settings.job_lease_s,
            poll_s=self.settings.job_poll_s,
        )


def build_services(settings: Settings) -> Services:
    database = Database(settings.database_url)
    return Services(
        settings=settings,
        database=database,
        handoffs=Handoffs(database),
        assessor=build_assessor(settings),
    )
