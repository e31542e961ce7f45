"""The one aiohttp application: routes and lifecycle, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from bot.slack import app as slack
from bot.teams import app as teams
from bot.config import Settings
from bot.metrics import ack_timer, metrics_route
from bot.services import Services, build_services
from core.worker import Worker
from db import migrate
from db.errors import DatabaseUnavailable

log = logging.getLogger("handoff.server")

SERVICES = web.AppKey("services", Services)
WORKER_TASK = web.AppKey("worker_task", asyncio.Task)
WORKER = web.AppKey("worker", Worker)


def worker_trouble(app: web.Application) -> tuple[bool, str | None]:
    """(stopped, reason): whether the job worker has ended for good, or why it is not running jobs now."""
    task, worker = app.get(WORKER_TASK), app.get(WORKER)
    if task is not None and task.done():
        error = None if task.cancelled() else task.exception()
        return True, f"the job worker stopped: {error!r}" if error else "the job worker stopped"
    return False, worker.problem if worker is not None else None


async def healthz(request: web.Request) -> web.Response:
    stopped, reason = worker_trouble(request.app)
    if stopped:  # the process answers HTTP but runs no job: restart it
        return web.json_response({"status": "unhealthy", "reason": reason}, status=503)
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    _stopped, reason = worker_trouble(request.app)
    if reason is not None:
        return web.json_response({"status": "unavailable", "reason": reason}, status=503)
    try:
        current = await migrate.current_revision(services.database)
    except DatabaseUnavailable as error:
        return web.json_response({"status": "unavailable", "reason": str(error)}, status=503)
    head = migrate.head_revision()
    if current != head:
        reason = f"database schema is at {current or 'nothing'}, this build needs {head}: run `handoff db upgrade`"
        return web.json_response({"status": "unavailable", "reason": reason}, status=503)
    return web.json_response({"status": "ready", "schema": head})


def install_platforms(app: web.Application, services: Services) -> None:
    """Slack and Teams, each installed by an explicit call (each adds its routes when it is configured);
    their delivery ports join the services, so jobs can reach them."""
    for port in (slack.install(app, services), teams.install(app, services)):
        if port is not None:
            services.ports[port.platform] = port


def create_app(settings: Settings, *, run_worker: bool = True, services: Services | None = None) -> web.Application:
    services = services or build_services(settings)
    app = web.Application(client_max_size=1024 * 1024,
                          middlewares=[services.inflight.middleware, ack_timer(services.telemetry)])
    app[SERVICES] = services
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_route(services.telemetry, services.database, services.handoffs.clock))
    install_platforms(app, services)

    async def startup(app: web.Application) -> None:
        await migrate.upgrade(services.database)
        if run_worker:
            app[WORKER] = services.worker()
            app[WORKER_TASK] = asyncio.create_task(app[WORKER].run(), name="handoff-worker")

    async def shutdown(app: web.Application) -> None:
        """SIGTERM (after the listening socket has closed): take no new jobs, and let the jobs and
        the work after acks that are in flight finish within the budget (graceful_stop)."""
        log.info("stopping: no new requests or jobs; finishing what is in flight (%.0fs budget)", settings.shutdown_s)
        await graceful_stop(app, budget_s=settings.shutdown_s - request_grace_s(settings))

    async def cleanup(app: web.Application) -> None:
        task = app.get(WORKER_TASK)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.database.dispose()
        log.info("stopped: database connections closed")

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    app.on_cleanup.append(cleanup)
    return app


def request_grace_s(settings: Settings) -> float:
    """How long aiohttp waits for HTTP requests still open after on_shutdown (acks are quick)."""
    return min(3.0, settings.shutdown_s / 4)


async def graceful_stop(app: web.Application, *, budget_s: float) -> None:
    """Stop the worker taking jobs and wait, for up to `budget_s`, for its jobs in flight, for requests
    still being answered and for listeners still working after their ack (`Services.inflight`).
    Jobs still running then are cancelled and give their leases back; other tasks end with the loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, budget_s - 0.5)
    worker, task = app.get(WORKER), app.get(WORKER_TASK)
    inflight = app[SERVICES].inflight
    at_signal = len(inflight.tasks())
    if worker is not None:
        worker.stop()
    waits = [inflight.wait_idle(max(0.0, deadline - loop.time()))]
    if task is not None:
        waits.append(asyncio.wait({task}, timeout=max(0.0, deadline - loop.time())))
    idle, *_ = await asyncio.gather(*waits)
    if worker is not None and task is not None:
        await worker.shutdown(task, timeout_s=deadline - loop.time())
    log.info("stopped: %d request(s)/listener run(s) in flight at SIGTERM, %s", at_signal,
             "all finished" if idle else f"{len(inflight.tasks())} still running at the deadline")
