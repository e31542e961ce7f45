"""What the three PSA fakes share: tickets, recorded notes, and the ways a PSA misbehaves.

Each fake is a real aiohttp server on 127.0.0.1. Misbehaviour is scripted per fake:
- `fail(status, times=n, retry_after=None, html=False)`: the next n API requests answer that status
  (an HTML body when `html`), e.g. 429 with Retry-After, 500, 503, 401;
- `drop_after_note(n)`: the next n note writes are recorded, then the connection is dropped unanswered;
- `go_down(seconds)`: every request's connection is dropped until the time has passed (`up()` ends it);
- wrong credentials answer 401 the way the vendor does.
Requests the vendor's docs would refuse (wrong path, headers or body) are answered 400 and listed in
`violations`, which every test expects to stay empty.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeTicket:
    id: int
    number: str
    title: str
    company: str
    closed: bool = False
    notes: list[dict[str, Any]] = field(default_factory=list)
    owner: Any = None


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: str | None = None
    html: bool = False


HTML_PAGE = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>"


class FakePsa:
    vendor = "psa"

    def __init__(self) -> None:
        self.tickets: dict[int, FakeTicket] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request that reached the API
        self.violations: list[str] = []
        self.ticket_updates: list[tuple[str, str, Any]] = []  # (method, path, body) of each owner change taken
        self._failures: deque[Failure] = deque()
        self._refusals: list[tuple[str, str, int]] = []  # (method, path ending, status): answered so, every time
        self._drops_after_note = 0
        self._down_until = 0.0
        self._ids = itertools.count(9001)
        self.url = ""

    # --- scripting -------------------------------------------------------------------------

    def add_ticket(self, id: int, *, title: str, company: str, number: str | None = None, closed: bool = False) -> FakeTicket:
        ticket = FakeTicket(id, number or str(id), title, company, closed)
        self.tickets[id] = ticket
        return ticket

    def add_member(self, email: str, member_id: int) -> None:
        """A PSA member (ConnectWise member, Autotask resource, Halo agent) with this email."""
        raise NotImplementedError

    def fail(self, status: int, *, times: int = 1, retry_after: str | None = None, html: bool = False) -> None:
        self._failures.extend(Failure(status, retry_after, html) for _ in range(times))

    def refuse(self, method: str, path_end: str, status: int) -> None:
        """Every `method` request whose path ends with `path_end` is answered `status` (e.g. the API user may
        read tickets but not edit them: 403 on the owner change)."""
        self._refusals.append((method, path_end, status))

    def drop_after_note(self, times: int = 1) -> None:
        self._drops_after_note += times

    def go_down(self, seconds: float) -> None:
        self._down_until = time.monotonic() + seconds

    def up(self) -> None:
        self._down_until = 0.0

    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    def notes(self, ticket_id: int) -> list[str]:
        return [n["text"] for n in self.tickets[ticket_id].notes]

    def all_notes(self) -> list[str]:
        return [n["text"] for t in self.tickets.values() for n in t.notes]

    # --- serving -----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._misbehave])
        self.routes(app)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @web.middleware
    async def _misbehave(self, request: web.Request, handler):
        if self.down:
            return self._drop(request)
        self.requests.append((request.method, request.path))
        for method, path_end, status in self._refusals:
            if request.method == method and request.path.endswith(path_end):
                return web.json_response({"message": f"scripted {status}"}, status=status)
        if self._failures and not self.is_token_request(request):
            failure = self._failures.popleft()
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            if failure.html:
                return web.Response(status=failure.status, text=HTML_PAGE, content_type="text/html", headers=headers)
            return web.json_response({"message": f"scripted {failure.status}"}, status=failure.status, headers=headers)
        return await handler(request)

    def is_token_request(self, request: web.Request) -> bool:
        return False

    async def _unknown(self, request: web.Request) -> web.Response:
        return self.violation(f"{request.method} {request.path} is not an endpoint of the {self.vendor} API", 404)

    def violation(self, message: str, status: int = 400) -> web.Response:
        self.violations.append(message)
        return web.json_response({"message": message}, status=status)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without an answer (the client sees a disconnect)."""
        request.transport.close()
        return web.Response(status=599)

    def record_note(self, request: web.Request, ticket: FakeTicket, text: str, **fields: Any) -> dict[str, Any] | web.StreamResponse:
        """Keep the note; then answer it, or (when scripted) drop the connection instead."""
        note = {"id": next(self._ids), "text": text, **fields}
        ticket.notes.append(note)
        if self._drops_after_note:
            self._drops_after_note -= 1
            return self._drop(request)
        return note

    def updated(self, request: web.Request, body: Any) -> None:
        self.ticket_updates.append((request.method, request.path, body))

    def ticket(self, raw: str) -> FakeTicket | None:
        try:
            return self.tickets.get(int(raw))
        except ValueError:
            return None

    def next_id(self) -> int:
        return next(self._ids)
