"""Serving aiohttp apps on 127.0.0.1: the bot and its stand-ins, for tests and `handoff demo`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def serve(app: web.Application, *, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Run `app` on a free port; yields its base URL (no trailing slash)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
