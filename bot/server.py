"""The one aiohttp application: routes and lifecycle, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from bot.config import Settings
from bot.metrics import ack_timer, metrics_route
from bot.services import Services, build_services
from db import migrate
from db.errors import DatabaseUnavailable

log = logging.getLogger("handoff.server")

SERVICES = web.AppKey("services", Services)
WORKER_TASK = web.AppKey("worker_task", asyncio.Task)

# Each platform: install(app, services) adds its routes and returns its delivery port (or None).
PLATFORMS: list = []


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        current = await migrate.current_revision(services.database)
    except DatabaseUnavailable as error:
        return web.json_response({"status": "unavailable", "reason": str(error)}, status=503)
    head = migrate.head_revision()
    if current != head:
        reason = f"database schema is at {current or 'nothing'}, this build needs {head}: run `handoff db upgrade`"
        return web.json_response({"status": "unavailable", "reason": reason}, status=503)
    return web.json_response({"status": "ready", "schema": head})


def create_app(settings: Settings, *, run_worker: bool = True, services: Services | None = None) -> web.Application:
    services = services or build_services(settings)
    app = web.Application(client_max_size=1024 * 1024, middlewares=[ack_timer(services.telemetry)])
    app[SERVICES] = services
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_route(services.telemetry, services.database, services.handoffs.clock))
    for install in PLATFORMS:
        port = install(app, services)
        if port is not None:
            services.ports[port.platform] = port

    async def startup(app: web.Application) -> None:
        await migrate.upgrade(services.database)
        if run_worker:
            app[WORKER_TASK] = asyncio.create_task(services.worker().run(), name="handoff-worker")

    async def cleanup(app: web.Application) -> None:
        task = app.get(WORKER_TASK)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.database.dispose()

    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    return app
import bot.slack  # noqa: E402,F401  registers the Slack platform in PLATFORMS
import bot.teams  # noqa: E402,F401  registers Teams in PLATFORMS
