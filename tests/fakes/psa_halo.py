"""A fake HaloPSA API on 127.0.0.1, from Halo's published API docs.

- `POST /auth/token?tenant=<tenant>` with a form `grant_type=client_credentials`, `client_id`,
  `client_secret`, `scope` -> `{"access_token", "token_type": "Bearer", "expires_in"}`; wrong client
  credentials -> 401 `{"error": "invalid_client"}`; a hosted fake requires the tenant.
- API calls need `Authorization: Bearer <an issued token>` (else 401). `GET /api/tickets/{id}` ->
  `{"id", "summary", "client_name", "status_id"}`; `POST /api/actions` with an array of
  `{"ticket_id", "note", "outcome", "hiddenfromuser": true}` -> the action; `GET /api/actions?ticket_id=`
  -> `{"actions": [...]}`; `GET /api/agent?search=`; `POST /api/tickets` `[{"id", "agent_id"}]`.
"""

from __future__ import annotations

import secrets as random_tokens
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from tests.fakes.psa_common import FakePsa
from tests.servers import serve

CLIENT_ID, CLIENT_SECRET, TENANT = "handoff-app", "halo-client-S3CRET-value", "acme"
NOTE_LIMIT = 30_000
CLOSED = 9


class FakeHalo(FakePsa):
    vendor = "Halo"

    def __init__(self, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET, tenant: str | None = TENANT):
        super().__init__()
        self.client_id, self.client_secret, self.tenant = client_id, client_secret, tenant
        self.issued: set[str] = set()
        self.agents: dict[str, int] = {}  # email -> agent id
        self.token_requests = 0
        self.token_missing = False  # scripting: the token endpoint answers 200 without an access token

    def is_token_request(self, request: web.Request) -> bool:
        return request.path == "/auth/token"

    def add_member(self, email: str, member_id: int) -> None:
        self.agents[email.lower()] = member_id

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/auth/token", self._token)
        app.router.add_get("/api/tickets/{id}", self._get_ticket)
        app.router.add_post("/api/tickets", self._update_tickets)
        app.router.add_post("/api/actions", self._post_actions)
        app.router.add_get("/api/actions", self._list_actions)
        app.router.add_get("/api/agent", self._agents)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        if form.get("grant_type") != "client_credentials" or not form.get("scope"):
            return self.violation(f"token request must be client_credentials with a scope: {dict(form)}")
        if self.tenant and request.query.get("tenant") != self.tenant:
            return web.json_response({"error": "invalid_request", "error_description": "unknown tenant"}, status=400)
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        if self.token_missing:
            return web.json_response({"token_type": "Bearer", "expires_in": 3600})
        token = random_tokens.token_urlsafe(24)
        self.issued.add(token)
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "all"})

    def _auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.issued:
            return web.json_response({"message": "Unauthorized"}, status=401)
        return None

    async def _get_ticket(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        ticket = self.ticket(request.match_info["id"])
        if ticket is None:
            return web.json_response({"message": "Ticket not found"}, status=404)
        return web.json_response({"id": ticket.id, "summary": ticket.title, "client_name": ticket.company,
                                  "status_id": CLOSED if ticket.closed else 1, "agent_id": ticket.owner})

    async def _post_actions(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        if not isinstance(body, list) or len(body) != 1:
            return self.violation(f"POST /api/actions takes an array of actions: {body}")
        action = body[0]
        ticket = self.tickets.get(action.get("ticket_id"))
        if ticket is None:
            return web.json_response({"message": "Ticket not found"}, status=404)
        if action.get("hiddenfromuser") is not True or not action.get("outcome"):
            return self.violation(f"note must be hidden from the end user, with an outcome: {action}")
        text = action.get("note")
        if not isinstance(text, str) or not text or len(text) > NOTE_LIMIT:
            return self.violation(f"note must be text of at most {NOTE_LIMIT} characters")
        note = self.record_note(request, ticket, text, outcome=action["outcome"])
        return note if isinstance(note, web.StreamResponse) else web.json_response(
            {"id": note["id"], "ticket_id": ticket.id, "note": text, "outcome": action["outcome"]}, status=201)

    async def _list_actions(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        ticket = self.ticket(request.query.get("ticket_id", ""))
        actions = [{"id": n["id"], "ticket_id": ticket.id, "note": n["text"]} for n in (ticket.notes if ticket else [])]
        return web.json_response({"record_count": len(actions), "actions": actions})

    async def _agents(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        email = request.query.get("search", "").lower()
        agent = self.agents.get(email)
        return web.json_response([{"id": agent, "email": email}] if agent else [])

    async def _update_tickets(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        if not isinstance(body, list) or not body or "id" not in body[0]:
            return self.violation(f"POST /api/tickets takes an array of tickets with ids: {body}")
        ticket = self.tickets.get(body[0]["id"])
        if ticket is None:
            return web.json_response({"message": "Ticket not found"}, status=404)
        ticket.owner = body[0].get("agent_id", ticket.owner)
        self.updated(request, body)
        return web.json_response({"id": ticket.id, "agent_id": ticket.owner})


@asynccontextmanager
async def fake_halo(fake: FakeHalo | None = None) -> AsyncIterator[FakeHalo]:
    fake = fake or FakeHalo()
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake


def halo_env(fake: FakeHalo, **overrides: str) -> dict[str, str]:
    return {"psa": "halo", "psa_url": fake.url + "/api", "psa_auth_url": fake.url + "/auth",
            "psa_client_id": CLIENT_ID, "psa_client_secret": CLIENT_SECRET, "psa_tenant": TENANT, **overrides}
