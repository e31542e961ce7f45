"""HaloPSA REST API client: private notes as ticket actions, with an OAuth2 client-credentials token.

Published documentation followed (found with the search tools):
- Two servers, both shown in Configuration > Integrations > Halo API > API Details: the authorisation
  server (`https://<name>.halopsa.com/auth`) and the resource server (`https://<name>.halopsa.com/api`);
  hosted instances also name a tenant (https://docs.energysoar.com/en/latest/08-0-0-Workflow/integrations/builtin/credentials/halopsa.html).
- Token: `POST {auth}/token?tenant=<tenant>` with a form `grant_type=client_credentials`, `client_id`,
  `client_secret`, `scope=all` -> `{"access_token", "token_type": "Bearer", "expires_in"}`; then
  `Authorization: Bearer <token>` on every API call.
- Actions are a ticket's notes: `POST /api/actions` with an array of `{"ticket_id", "note", "outcome",
  "hiddenfromuser"}`, `GET /api/actions?ticket_id=` -> `{"actions": [...]}`
  (https://kb.dtctoday.com/books/halopsa-api-reference/page/action-endpoints);
  `GET /api/tickets/{id}` (https://usehalo.com/guide/performing-ticket-approvals-via-api/2345),
  `GET /api/agent?search=`, `POST /api/tickets` with `[{"id", "agent_id"}]` to assign.
- hiddenfromuser=true keeps the note from the end user; Halo's default "Closed" status has id 9.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cards.psa_messages import VENDORS
from core.psa_form import NO_TOKEN
from psa.client import BadRef, Ticket, TicketRef, digits_ref
from psa.http import Exchange, PsaRejected, unless_missing

NOTE_LIMIT = 30_000  # Halo publishes no limit for a note; stay well inside its request size
CLOSED_STATUS = 9
PRIVATE_OUTCOME = "Private Note"


@dataclass(frozen=True)
class HaloConfig:
    url: str  # the resource server, e.g. https://acme.halopsa.com/api
    auth_url: str  # the authorisation server, e.g. https://acme.halopsa.com/auth
    client_id: str
    client_secret: str
    tenant: str | None = None  # hosted instances

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.client_secret,)


class Halo:
    vendor = VENDORS["halo"]
    note_limit = NOTE_LIMIT

    def __init__(self, config: HaloConfig, exchange: Exchange, *, tokens: dict | None = None) -> None:
        self.config = config
        self.http = exchange
        self.base = config.url.rstrip("/")
        self._tokens = tokens if tokens is not None else {}  # client id -> (token, expires at)

    def parse_ref(self, text: str) -> TicketRef | BadRef:
        return digits_ref(text, vendor=self.vendor)

    async def _token(self, *, fresh: bool = False) -> str:
        cached = self._tokens.get(self.config.client_id)
        if cached and not fresh and cached[1] > time.monotonic() + 30:
            return cached[0]
        params = {"tenant": self.config.tenant} if self.config.tenant else None
        form = {"grant_type": "client_credentials", "client_id": self.config.client_id,
                "client_secret": self.config.client_secret, "scope": "all"}
        data = await self.http.call("POST", self.config.auth_url.rstrip("/") + "/token", params=params, form=form,
                                    headers={"Accept": "application/json"}, what="token")
        token = str((data or {}).get("access_token") or "")
        if not token:
            raise PsaRejected(self.http.problem(NO_TOKEN, what="token"))
        self._tokens[self.config.client_id] = (token, time.monotonic() + float(data.get("expires_in") or 3600))
        self.http.secrets = (*self.http.secrets, token)
        return token

    async def _call(self, method: str, path: str, *, what: str = "ticket", **kwargs):
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {await self._token(fresh=fresh)}", "Accept": "application/json"}
            try:
                return await self.http.call(method, self.base + path, headers=headers, what=what, **kwargs)
            except PsaRejected as error:
                if error.status != 401 or fresh:
                    raise  # a 401 with a cached token may only mean it expired: one fresh try
        raise AssertionError("unreachable")

    async def find_ticket(self, ref: TicketRef) -> Ticket | None:
        data = await unless_missing(self._call("GET", f"/tickets/{ref.value}"))
        if data is None:
            return None
        return Ticket(
            id=str(data["id"]),
            number=str(data["id"]),
            title=str(data.get("summary") or ""),
            company=str(data.get("client_name") or ""),
            closed=data.get("status_id") == CLOSED_STATUS,
        )

    async def add_note(self, ticket_id: str, text: str) -> str:
        body = [{"ticket_id": int(ticket_id), "note": text, "outcome": PRIVATE_OUTCOME, "hiddenfromuser": True}]
        data = await self._call("POST", "/actions", json_body=body)
        created = data[0] if isinstance(data, list) else data
        return str(created["id"])

    async def find_note(self, ticket_id: str, marker: str) -> str | None:
        data = await self._call("GET", "/actions", params={"ticket_id": ticket_id, "count": "100", "excludesys": "true"})
        actions = (data or {}).get("actions") or []
        return next((str(a["id"]) for a in actions if marker in str(a.get("note", ""))), None)

    async def assign(self, ticket_id: str, email: str) -> bool:
        agents = await self._call("GET", "/agent", params={"search": email}, what="agent")
        match = next((a for a in agents or [] if str(a.get("email", "")).lower() == email.lower()), None)
        if match is None:
            return False
        await self._call("POST", "/tickets", json_body=[{"id": int(ticket_id), "agent_id": match["id"]}])
        return True
