"""Autotask PSA REST API client: internal ticket notes, with zone discovery.

Published documentation followed (found with the search tools):
- Every REST call carries the `ApiIntegrationCode` (the API tracking identifier), `UserName` and `Secret`
  headers of an API-only user (https://ww1.autotask.net/help/Content/4_Admin/1CompanySettings_Users/ResourcesUsersHR/Resources/API_Tracking_Identifier.htm;
  https://www.nango.dev/docs/integrations/all/autotask/connect).
- Zones: a database lives in one zone; `GET https://webservices.autotask.net/ATServicesRest/V1.0/zoneInformation?user=<user>`
  answers `{"zoneName", "url", "webUrl", "ci"}`, and `url` is the REST base for every other call (the
  REST successor of SOAP getZoneInfo(), https://ww1.autotask.net/help/DeveloperHelp/Content/APIs/SOAP/APICalls/GetZoneInfoCall.htm).
- Entities (https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/...): `Tickets`
  (`GET /V1.0/Tickets/{id}` -> `{"item": ...}`, `GET /V1.0/Tickets/query?search=` -> `{"items": [...]}`),
  child `Notes` (`POST /V1.0/Tickets/{id}/Notes` -> `{"itemId": n}`), `TicketNotes/query`,
  `Companies/{id}`, `Resources/query`, `PATCH /V1.0/Tickets`. TicketNotes.description is string(32000);
  publish 1 = internal only; noteType 1 = general.
- Ticket numbers look like `T20261123.0042`; ids are integers. Status 5 is "Complete".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from cards.psa_messages import VENDORS
from core.psa_form import NO_ZONE
from psa.client import BadRef, Ticket, TicketRef
from psa.http import Exchange, PsaRejected, unless_missing

DISCOVERY_URL = "https://webservices.autotask.net/ATServicesRest"
NOTE_LIMIT = 32_000  # TicketNotes.description string(32000)
TITLE_LIMIT = 250
COMPLETE = 5
PUBLISH_INTERNAL = 1
NOTE_TYPE_GENERAL = 1
_NUMBER = re.compile(r"^T\d{8}\.\d{4}$")


@dataclass(frozen=True)
class AutotaskConfig:
    username: str
    secret: str
    integration_code: str
    url: str | None = None  # the zone's REST base; discovered from the user name when not set
    discovery_url: str = DISCOVERY_URL

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret, self.integration_code)

    def headers(self) -> dict[str, str]:
        return {
            "ApiIntegrationCode": self.integration_code,
            "UserName": self.username,
            "Secret": self.secret,
            "Accept": "application/json",
        }


class Autotask:
    vendor = VENDORS["autotask"]
    note_limit = NOTE_LIMIT

    def __init__(self, config: AutotaskConfig, exchange: Exchange, *, zones: dict[str, str] | None = None) -> None:
        self.config = config
        self.http = exchange
        self._zones = zones if zones is not None else {}  # user name -> zone URL, shared across jobs

    def parse_ref(self, text: str) -> TicketRef | BadRef:
        value = text.strip().upper()
        if _NUMBER.match(value):
            return TicketRef("number", value)
        if value.isascii() and value.isdigit() and len(value) <= 10 and int(value) > 0:
            return TicketRef("id", str(int(value)))
        return BadRef(10)

    async def _base(self) -> str:
        if self.config.url:
            return self.config.url.rstrip("/")
        cached = self._zones.get(self.config.username)
        if cached:
            return cached
        data = await self.http.call(
            "GET", self.config.discovery_url.rstrip("/") + "/V1.0/zoneInformation",
            params={"user": self.config.username}, headers={"Accept": "application/json"}, what="API user",
        )
        url = str((data or {}).get("url") or "").rstrip("/")
        if not url:
            raise PsaRejected(self.http.problem(NO_ZONE, what="API user"))
        self._zones[self.config.username] = url
        return url

    async def _call(self, method: str, path: str, *, what: str = "ticket", **kwargs):
        url = await self._base() + path
        return await self.http.call(method, url, headers=self.config.headers(), what=what, **kwargs)

    @staticmethod
    def _search(*filters: dict) -> dict[str, str]:
        return {"search": json.dumps({"filter": list(filters)})}

    async def find_ticket(self, ref: TicketRef) -> Ticket | None:
        if ref.kind == "number":
            found = await self._call("GET", "/V1.0/Tickets/query",
                                     params=self._search({"op": "eq", "field": "ticketNumber", "value": ref.value}))
            items = (found or {}).get("items") or []
            item = items[0] if items else None
        else:
            item = ((await unless_missing(self._call("GET", f"/V1.0/Tickets/{ref.value}"))) or {}).get("item")
        if not item:
            return None
        company = ""
        if item.get("companyID") is not None:
            data = await self._call("GET", f"/V1.0/Companies/{item['companyID']}", what="company")
            company = str(((data or {}).get("item") or {}).get("companyName") or "")
        return Ticket(
            id=str(item["id"]),
            number=str(item.get("ticketNumber") or item["id"]),
            title=str(item.get("title") or ""),
            company=company,
            closed=item.get("status") == COMPLETE,
        )

    async def add_note(self, ticket_id: str, text: str) -> str:
        title, _, _ = text.partition("\n")
        body = {
            "ticketID": int(ticket_id),
            "title": title[:TITLE_LIMIT],
            "description": text,
            "noteType": NOTE_TYPE_GENERAL,
            "publish": PUBLISH_INTERNAL,
        }
        data = await self._call("POST", f"/V1.0/Tickets/{ticket_id}/Notes", json_body=body)
        return str(data["itemId"])

    async def find_note(self, ticket_id: str, marker: str) -> str | None:
        params = self._search({"op": "eq", "field": "ticketID", "value": int(ticket_id)},
                              {"op": "contains", "field": "description", "value": marker})
        found = await self._call("GET", "/V1.0/TicketNotes/query", params=params)
        items = (found or {}).get("items") or []
        return next((str(n["id"]) for n in items if marker in str(n.get("description", ""))), None)

    async def assign(self, ticket_id: str, email: str) -> bool:
        found = await self._call("GET", "/V1.0/Resources/query", what="resource",
                                 params=self._search({"op": "eq", "field": "email", "value": email},
                                                     {"op": "eq", "field": "isActive", "value": True}))
        items = (found or {}).get("items") or []
        if not items:
            return False
        resource = items[0]
        body = {"id": int(ticket_id), "assignedResourceID": resource["id"],
                "assignedResourceRoleID": resource.get("defaultServiceDeskRoleID")}
        await self._call("PATCH", "/V1.0/Tickets", json_body=body)
        return True
