"""A fake Autotask REST API on 127.0.0.1, from Autotask's published REST docs.

- Zone discovery: `GET /ATServicesRest/V1.0/zoneInformation?user=<user>` needs no credentials and answers
  `{"zoneName", "url", "webUrl", "ci"}`; `url` points at this same fake's zone path.
- Every other call needs the `ApiIntegrationCode`, `UserName` and `Secret` headers (else 401; a missing
  integration code is refused like Autotask's tracking-identifier check).
Zone routes under `/zone5/ATServicesRest`: `GET /V1.0/Tickets/{id}` -> `{"item"}`;
`GET /V1.0/Tickets/query?search={"filter": [...]}` -> `{"items", "pageDetails"}`; `GET /V1.0/Companies/{id}`;
`POST /V1.0/Tickets/{id}/Notes` (body `ticketID`, `title`, `description` <= 32000, `noteType`, `publish`)
-> `{"itemId"}`; `GET /V1.0/TicketNotes/query`; `GET /V1.0/Resources/query`; `PATCH /V1.0/Tickets`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from tests.fakes.psa_common import FakePsa
from tests.servers import serve

ZONE = "/zone5/ATServicesRest"
DISCOVERY = "/ATServicesRest"
USERNAME, SECRET, CODE = "handoff-api@acme.example", "at-secret-S3CRET-value", "INTEGRATIONCODE27CHARSXXXXX"
NOTE_LIMIT = 32_000
COMPLETE = 5


class FakeAutotask(FakePsa):
    vendor = "Autotask"

    def __init__(self, *, username: str = USERNAME, secret: str = SECRET, code: str = CODE) -> None:
        super().__init__()
        self.username, self.secret, self.code = username, secret, code
        self.resources: dict[str, dict] = {}  # email -> resource
        self.companies = {1: "Contoso Ltd"}
        self.zone_lookups = 0
        self.zone_missing = False  # scripting: discovery answers, but names no zone for the user

    def add_member(self, email: str, member_id: int) -> None:
        self.resources[email.lower()] = {"id": member_id, "email": email, "isActive": True,
                                         "defaultServiceDeskRoleID": 29682833}

    def add_ticket(self, id: int, *, title: str, company: str, number: str | None = None, closed: bool = False):
        self.companies.setdefault(len(self.companies) + 1, company)
        return super().add_ticket(id, title=title, company=company, number=number or f"T20261123.{id % 10000:04d}",
                                  closed=closed)

    def routes(self, app: web.Application) -> None:
        app.router.add_get(DISCOVERY + "/V1.0/zoneInformation", self._zone)
        app.router.add_get(ZONE + "/V1.0/Tickets/query", self._query_tickets)
        app.router.add_get(ZONE + "/V1.0/Tickets/{id}", self._get_ticket)
        app.router.add_post(ZONE + "/V1.0/Tickets/{id}/Notes", self._post_note)
        app.router.add_get(ZONE + "/V1.0/TicketNotes/query", self._query_notes)
        app.router.add_get(ZONE + "/V1.0/Companies/{id}", self._company)
        app.router.add_get(ZONE + "/V1.0/Resources/query", self._query_resources)
        app.router.add_patch(ZONE + "/V1.0/Tickets", self._patch_ticket)

    async def _zone(self, request: web.Request) -> web.Response:
        self.zone_lookups += 1
        if request.query.get("user", "").lower() != self.username.lower():
            return web.json_response({"errors": ["Invalid user"]}, status=404)
        base = str(request.url.origin())
        if self.zone_missing:
            return web.json_response({"zoneName": None, "url": None, "webUrl": None, "ci": 0})
        return web.json_response({"zoneName": "America East 5", "url": f"{base}{ZONE}/",
                                  "webUrl": "https://ww5.autotask.net/", "ci": 1234})

    def _auth(self, request: web.Request) -> web.Response | None:
        if not request.headers.get("ApiIntegrationCode"):
            return self.violation("Autotask requires the ApiIntegrationCode header (the API tracking identifier)")
        h = request.headers
        if (h.get("UserName"), h.get("Secret"), h.get("ApiIntegrationCode")) != (self.username, self.secret, self.code):
            return web.json_response({"errors": ["Unauthorized"]}, status=401)
        return None

    def _filters(self, request: web.Request) -> list[dict] | None:
        try:
            search = json.loads(request.query["search"])
            return list(search["filter"])
        except (KeyError, ValueError, TypeError):
            return None

    def _item(self, ticket) -> dict:
        company_id = next(k for k, v in self.companies.items() if v == ticket.company)
        return {"id": ticket.id, "ticketNumber": ticket.number, "title": ticket.title, "companyID": company_id,
                "status": COMPLETE if ticket.closed else 1, "assignedResourceID": ticket.owner}

    async def _get_ticket(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        ticket = self.ticket(request.match_info["id"])
        if ticket is None:
            return web.json_response({"item": None})  # Autotask answers a null item for an unknown id
        return web.json_response({"item": self._item(ticket)})

    async def _query_tickets(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        filters = self._filters(request)
        if not filters or filters[0].get("field") != "ticketNumber" or filters[0].get("op") != "eq":
            return self.violation(f"unexpected ticket query: {request.query.get('search')}")
        items = [self._item(t) for t in self.tickets.values() if t.number == filters[0]["value"]]
        return web.json_response({"items": items, "pageDetails": {"count": len(items)}})

    async def _company(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        name = self.companies.get(int(request.match_info["id"]))
        return web.json_response({"item": {"id": int(request.match_info["id"]), "companyName": name} if name else None})

    async def _post_note(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        ticket = self.ticket(request.match_info["id"])
        if ticket is None:
            return web.json_response({"errors": ["Ticket not found"]}, status=404)
        body = await request.json()
        if body.get("ticketID") != ticket.id or body.get("publish") != 1 or body.get("noteType") != 1:
            return self.violation(f"note must name its ticket and be internal (publish 1, noteType 1): {body}")
        text, title = body.get("description"), body.get("title")
        if not isinstance(text, str) or not text or not isinstance(title, str) or not title or len(title) > 250:
            return self.violation("title (<= 250) and description are required")
        if len(text) > NOTE_LIMIT:
            return self.violation(f"description is {len(text)} characters, above {NOTE_LIMIT}")
        note = self.record_note(request, ticket, text, title=title)
        return note if isinstance(note, web.StreamResponse) else web.json_response({"itemId": note["id"]})

    async def _query_notes(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        filters = {f.get("field"): f for f in self._filters(request) or []}
        if "ticketID" not in filters or "description" not in filters:
            return self.violation(f"unexpected note query: {request.query.get('search')}")
        ticket = self.tickets.get(int(filters["ticketID"]["value"]))
        wanted = filters["description"]["value"]
        items = [{"id": n["id"], "ticketID": ticket.id, "description": n["text"]}
                 for n in (ticket.notes if ticket else []) if wanted in n["text"]]
        return web.json_response({"items": items, "pageDetails": {"count": len(items)}})

    async def _query_resources(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        filters = {f.get("field"): f for f in self._filters(request) or []}
        resource = self.resources.get(str(filters.get("email", {}).get("value", "")).lower())
        return web.json_response({"items": [resource] if resource else [], "pageDetails": {}})

    async def _patch_ticket(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        ticket = self.tickets.get(body.get("id"))
        if ticket is None or not body.get("assignedResourceID") or not body.get("assignedResourceRoleID"):
            return self.violation(f"PATCH Tickets needs id, assignedResourceID and assignedResourceRoleID: {body}")
        ticket.owner = body["assignedResourceID"]
        self.updated(request, body)
        return web.json_response({"itemId": ticket.id})


@asynccontextmanager
async def fake_autotask(fake: FakeAutotask | None = None) -> AsyncIterator[FakeAutotask]:
    fake = fake or FakeAutotask()
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake


def autotask_env(fake: FakeAutotask, **overrides: str) -> dict[str, str]:
    """Settings keywords: no zone URL, so the bot discovers it from the user name at the fake."""
    return {"psa": "autotask", "psa_discovery_url": fake.url + DISCOVERY, "psa_username": USERNAME,
            "psa_secret": SECRET, "psa_integration_code": CODE, **overrides}
