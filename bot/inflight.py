"""Requests in flight and the work they go on doing after their answer, tracked by us so a graceful
stop can wait for them.

Every HTTP request passes `InFlight.middleware`. slack_bolt answers a request when its listener calls
`ack()` and runs the rest of the listener in a task of its own; each listener we register goes through
`InFlight.wrap` (via `TrackedListeners`), so the stop waits for exactly those runs, found through our own
bookkeeping rather than bolt's internal names. The listener is entered before it can ack, so a request
is never answered before the work it leaves behind is counted.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class InFlight:
    def __init__(self) -> None:
        self._running: dict[asyncio.Task, int] = {}  # task -> tracked runs in it now

    def _enter(self) -> asyncio.Task:
        task = asyncio.current_task()
        self._running[task] = self._running.get(task, 0) + 1
        return task

    def _leave(self, task: asyncio.Task) -> None:
        left = self._running.pop(task) - 1
        if left:
            self._running[task] = left

    def wrap(self, listener: F) -> F:
        """`listener`, counted while it runs. functools.wraps keeps its signature visible to bolt
        (which injects arguments by name through `inspect.unwrap`)."""

        @functools.wraps(listener)
        async def tracked(*args: Any, **kwargs: Any) -> Any:
            task = self._enter()
            try:
                return await listener(*args, **kwargs)
            finally:
                self._leave(task)

        return tracked  # type: ignore[return-value]

    @property
    def middleware(self) -> Callable:
        """The aiohttp middleware that counts each request while its handler runs."""

        @web.middleware
        async def count_request(request: web.Request, handler: Callable) -> web.StreamResponse:
            task = self._enter()
            try:
                return await handler(request)
            finally:
                self._leave(task)

        return count_request

    def tasks(self) -> set[asyncio.Task]:
        """The tasks running a tracked request or listener now."""
        return set(self._running)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing tracked is running (new runs started meanwhile included), for up to
        `timeout_s`; True when idle."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._running and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._running), timeout=left, return_when=asyncio.FIRST_COMPLETED)
        return not self._running


class TrackedListeners:
    """bolt's listener decorators (`app.command(...)`, `.view`, `.action`, `.event`, `.shortcut`,
    `.options`), each listener wrapped by `InFlight` before bolt sees it. Only these: a listener kind
    not listed here fails at registration instead of going untracked."""

    def __init__(self, bolt: Any, inflight: InFlight) -> None:
        self._bolt = bolt
        self._inflight = inflight

    def _decorator(self, kind: str, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = getattr(self._bolt, kind)(*args, **kwargs)

        def decorate(listener: F) -> F:
            register(self._inflight.wrap(listener))
            return listener

        return decorate

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._decorator("command", *args, **kwargs)

    def view(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._decorator("view", *args, **kwargs)

    def action(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._decorator("action", *args, **kwargs)

    def event(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._decorator("event", *args, **kwargs)

    def shortcut(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._decorator("shortcut", *args, **kwargs)

    def options(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        return self._decorator("options", *args, **kwargs)
