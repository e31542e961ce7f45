"""A fake ConnectWise PSA (Manage) REST API on 127.0.0.1, from ConnectWise's published docs.

Checked on every request (https://developer.connectwise.com/ClientID-testing and the REST guide):
`Authorization: Basic base64(company+publicKey:privateKey)` (else 401) and a `clientId` header (else 400).
Routes under `/v4_6_release/apis/3.0`:
- `GET /service/tickets/{id}` -> the ticket (`id`, `summary`, `company.name`, `closedFlag`), 404 if none;
- `POST /service/tickets/{id}/notes` with `text` and `internalAnalysisFlag: true` -> the note with `id`
  (a note that is not internal, or has no text, is refused: Handoff must never write client-visible notes);
- `GET /service/tickets/{id}/notes?conditions=text contains "..."` -> matching notes;
- `GET /system/members?conditions=primaryEmail="..."`, `PATCH /service/tickets/{id}` (JSON Patch owner).
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from tests.fakes.psa_common import FakePsa
from tests.servers import serve

PREFIX = "/v4_6_release/apis/3.0"
COMPANY, PUBLIC, PRIVATE, CLIENT_ID = "acme", "pubKEY123", "cw-private-S3CRET-key", "b2f1c0de-0000-4000-8000-000000000001"
NOTE_LIMIT = 30_000


class FakeConnectWise(FakePsa):
    vendor = "ConnectWise"

    def __init__(self, *, company: str = COMPANY, public: str = PUBLIC, private: str = PRIVATE) -> None:
        super().__init__()
        self.credentials = base64.b64encode(f"{company}+{public}:{private}".encode()).decode()
        self.members: dict[str, int] = {}  # email -> member id

    def add_member(self, email: str, member_id: int) -> None:
        self.members[email.lower()] = member_id

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PREFIX + "/service/tickets/{id}", self._get_ticket)
        app.router.add_post(PREFIX + "/service/tickets/{id}/notes", self._post_note)
        app.router.add_get(PREFIX + "/service/tickets/{id}/notes", self._list_notes)
        app.router.add_patch(PREFIX + "/service/tickets/{id}", self._patch_ticket)
        app.router.add_get(PREFIX + "/system/members", self._members)

    def _auth(self, request: web.Request) -> web.Response | None:
        if not request.headers.get("clientId"):
            return self.violation("ConnectWise requires a clientId header on every request")
        if request.headers.get("Authorization") != f"Basic {self.credentials}":
            return web.json_response({"code": "Unauthorized", "message": "Authentication failed"}, status=401)
        return None

    async def _get_ticket(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        ticket = self.ticket(request.match_info["id"])
        if ticket is None:
            return web.json_response({"code": "NotFound", "message": "Ticket not found"}, status=404)
        return web.json_response({"id": ticket.id, "summary": ticket.title, "company": {"id": 1, "name": ticket.company},
                                  "closedFlag": ticket.closed, "owner": ticket.owner})

    async def _post_note(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._auth(request)) is not None:
            return denied
        ticket = self.ticket(request.match_info["id"])
        if ticket is None:
            return web.json_response({"code": "NotFound", "message": "Ticket not found"}, status=404)
        body = await request.json()
        if body.get("internalAnalysisFlag") is not True or body.get("detailDescriptionFlag") or body.get("resolutionFlag"):
            return self.violation(f"note must be internal analysis only: {body}")
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return self.violation("note text is required")
        if len(text) > NOTE_LIMIT:
            return self.violation(f"note text is {len(text)} characters, above {NOTE_LIMIT}")
        note = self.record_note(request, ticket, text, internalAnalysisFlag=True)
        return note if isinstance(note, web.StreamResponse) else web.json_response(
            {**note, "ticketId": ticket.id}, status=201)

    async def _list_notes(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        ticket = self.ticket(request.match_info["id"])
        if ticket is None:
            return web.json_response({"code": "NotFound", "message": "Ticket not found"}, status=404)
        match = re.fullmatch(r'text contains "(.*)"', request.query.get("conditions", ""))
        wanted = match.group(1) if match else ""
        return web.json_response([{"id": n["id"], "text": n["text"]} for n in ticket.notes if wanted in n["text"]])

    async def _members(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        match = re.match(r'primaryEmail="([^"]*)"', request.query.get("conditions", ""))
        email = match.group(1).lower() if match else ""
        member = self.members.get(email)
        return web.json_response([{"id": member, "primaryEmail": email}] if member else [])

    async def _patch_ticket(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        ticket = self.ticket(request.match_info["id"])
        if ticket is None:
            return web.json_response({"code": "NotFound", "message": "Ticket not found"}, status=404)
        ops = await request.json()
        if not isinstance(ops, list) or not all({"op", "path", "value"} <= set(o) for o in ops):
            return self.violation(f"PATCH takes a JSON Patch array: {ops}")
        for op in ops:
            if op["path"] == "owner":
                ticket.owner = op["value"]
        self.updated(request, ops)
        return web.json_response({"id": ticket.id, "owner": ticket.owner})


@asynccontextmanager
async def fake_connectwise(fake: FakeConnectWise | None = None) -> AsyncIterator[FakeConnectWise]:
    fake = fake or FakeConnectWise()
    async with serve(fake.app()) as url:
        fake.url = url.rstrip("/") + PREFIX
        yield fake


def connectwise_env(fake: FakeConnectWise, **overrides: str) -> dict[str, str]:
    """HANDOFF_PSA* settings (as Settings keywords) pointing at the fake."""
    return {"psa": "connectwise", "psa_url": fake.url, "psa_company": COMPANY, "psa_public_key": PUBLIC,
            "psa_private_key": PRIVATE, "psa_client_id": CLIENT_ID, **overrides}
