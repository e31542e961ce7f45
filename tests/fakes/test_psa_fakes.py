"""The PSA fakes refuse what the vendors' docs refuse, so the bot's requests are really checked."""

from __future__ import annotations

import base64
import json

import aiohttp

from tests.fakes.psa_autotask import CODE, DISCOVERY, SECRET, USERNAME, ZONE
from tests.fakes.psa_connectwise import CLIENT_ID, COMPANY, PRIVATE, PUBLIC
from tests.psa.rigs import TICKET_ID, psa_rig

CW_AUTH = "Basic " + base64.b64encode(f"{COMPANY}+{PUBLIC}:{PRIVATE}".encode()).decode()


async def test_connectwise_needs_client_id_basic_auth_and_internal_notes():
    async with psa_rig("connectwise") as rig, aiohttp.ClientSession() as s:
        url = f"{rig.fake.url}/service/tickets/{TICKET_ID}"
        async with s.get(url, headers={"Authorization": CW_AUTH}) as r:
            assert r.status == 400  # no clientId
        async with s.get(url, headers={"Authorization": "Basic eA==", "clientId": CLIENT_ID}) as r:
            assert r.status == 401
        headers = {"Authorization": CW_AUTH, "clientId": CLIENT_ID}
        async with s.post(url + "/notes", headers=headers, json={"text": "hi", "detailDescriptionFlag": True}) as r:
            assert r.status == 400  # a client-visible note
        async with s.post(url + "/notes", headers=headers, json={"text": "hi", "internalAnalysisFlag": True}) as r:
            assert r.status == 201 and (await r.json())["text"] == "hi"
        async with s.post(url + "/notes", headers=headers, json={"text": "x" * 30_001, "internalAnalysisFlag": True}) as r:
            assert r.status == 400
        assert rig.fake.notes(TICKET_ID) == ["hi"]
        assert len(rig.fake.violations) == 3


async def test_autotask_discovers_its_zone_and_checks_the_three_headers():
    async with psa_rig("autotask") as rig, aiohttp.ClientSession() as s:
        async with s.get(f"{rig.fake.url}{DISCOVERY}/V1.0/zoneInformation", params={"user": USERNAME}) as r:
            zone = (await r.json())["url"]
        assert zone.endswith(ZONE + "/")
        note = {"ticketID": TICKET_ID, "title": "t", "description": "d", "noteType": 1, "publish": 1}
        good = {"ApiIntegrationCode": CODE, "UserName": USERNAME, "Secret": SECRET}
        url = f"{zone}V1.0/Tickets/{TICKET_ID}/Notes"
        async with s.post(url, headers={**good, "Secret": "nope"}, json=note) as r:
            assert r.status == 401
        async with s.post(url, headers={"UserName": USERNAME, "Secret": SECRET}, json=note) as r:
            assert r.status == 400  # no integration code
        async with s.post(url, headers=good, json={**note, "publish": 3}) as r:
            assert r.status == 400  # visible to everyone
        async with s.post(url, headers=good, json=note) as r:
            assert "itemId" in await r.json()
        search = json.dumps({"filter": [{"op": "eq", "field": "ticketNumber", "value": rig.ticket_ref}]})
        async with s.get(f"{zone}V1.0/Tickets/query", headers=good, params={"search": search}) as r:
            assert [t["id"] for t in (await r.json())["items"]] == [TICKET_ID]


async def test_halo_issues_tokens_for_client_credentials_and_wants_hidden_notes():
    async with psa_rig("halo") as rig, aiohttp.ClientSession() as s:
        form = {"grant_type": "client_credentials", "client_id": "handoff-app", "scope": "all"}
        async with s.post(f"{rig.fake.url}/auth/token", params={"tenant": "acme"},
                          data={**form, "client_secret": "bad"}) as r:
            assert r.status == 401
        async with s.post(f"{rig.fake.url}/auth/token", data={**form, "client_secret": rig.secret}) as r:
            assert r.status == 400  # hosted: the tenant is required
        async with s.post(f"{rig.fake.url}/auth/token", params={"tenant": "acme"},
                          data={**form, "client_secret": rig.secret}) as r:
            token = (await r.json())["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        action = {"ticket_id": TICKET_ID, "note": "n", "outcome": "Private Note"}
        async with s.post(f"{rig.fake.url}/api/actions", json=[action]) as r:
            assert r.status == 401
        async with s.post(f"{rig.fake.url}/api/actions", headers=bearer, json=[action]) as r:
            assert r.status == 400  # not hidden from the end user
        async with s.post(f"{rig.fake.url}/api/actions", headers=bearer, json=[{**action, "hiddenfromuser": True}]) as r:
            assert r.status == 201
        assert rig.fake.notes(TICKET_ID) == ["n"]


async def test_scripted_failures_drops_and_downtime():
    async with psa_rig("connectwise") as rig, aiohttp.ClientSession() as s:
        headers = {"Authorization": CW_AUTH, "clientId": CLIENT_ID}
        url = f"{rig.fake.url}/service/tickets/{TICKET_ID}"
        rig.fake.fail(429, retry_after="3")
        rig.fake.fail(502, html=True)
        async with s.get(url, headers=headers) as r:
            assert (r.status, r.headers["Retry-After"]) == (429, "3")
        async with s.get(url, headers=headers) as r:
            assert r.status == 502 and "<html>" in await r.text()
        rig.fake.drop_after_note()
        try:
            async with s.post(url + "/notes", headers=headers, json={"text": "kept", "internalAnalysisFlag": True}) as r:
                await r.read()
            raise AssertionError("the answer should have been dropped")
        except aiohttp.ClientError:
            pass
        assert rig.fake.notes(TICKET_ID) == ["kept"]
        rig.fake.go_down(5)
        try:
            async with s.get(url, headers=headers) as r:
                await r.read()
            raise AssertionError("a down PSA should not answer")
        except aiohttp.ClientError:
            pass
