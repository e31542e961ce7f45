"""The three PSA clients against their fakes over real HTTP: notes, lookups, and every way it goes wrong."""

from __future__ import annotations

import aiohttp
import pytest

from psa.client import BadRef, TicketRef
from psa.http import PsaRejected, PsaUnavailable
from tests.psa.rigs import TICKET_ID, VENDORS, psa_rig

pytestmark = pytest.mark.parametrize("vendor", VENDORS)


async def _client(rig, session, **overrides):
    return rig.connection(**overrides).client(session, timeout_s=2.0, cache={})


async def test_writes_an_internal_note_and_finds_it_by_marker(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        client = await _client(rig, session)
        ticket = await client.find_ticket(client.parse_ref(rig.ticket_ref))
        assert (ticket.title, ticket.company, ticket.closed) == ("Mail flow broken for finance", "Contoso Ltd", False)
        note_id = await client.add_note(ticket.id, "Picked up by Dana after 4 min\n\n[handoff:x:claimed:2]")
        assert rig.fake.notes(TICKET_ID) == ["Picked up by Dana after 4 min\n\n[handoff:x:claimed:2]"]
        assert await client.find_note(ticket.id, "[handoff:x:claimed:2]") == note_id
        assert await client.find_note(ticket.id, "[handoff:x:resolved:3]") is None
        assert rig.fake.violations == []


async def test_unknown_and_closed_tickets(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        client = await _client(rig, session)
        assert await client.find_ticket(TicketRef("id", "999999")) is None
        closed = await client.find_ticket(TicketRef("id", "77"))
        assert closed.closed and closed.title == "Old printer"


async def test_bad_references_are_refused_before_any_request(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        client = await _client(rig, session)
        for bad in ("42 43", "abc", "9" * 200, "", "-5", "4٢"):
            assert isinstance(client.parse_ref(bad), BadRef), bad
        assert rig.fake.requests == []


async def test_rate_limit_and_server_errors_retry_later_with_retry_after(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        client = await _client(rig, session)
        ticket_id = (await client.find_ticket(client.parse_ref(rig.ticket_ref))).id
        rig.fake.fail(429, retry_after="7")
        with pytest.raises(PsaUnavailable) as error:
            await client.add_note(ticket_id, "one")
        assert error.value.delay_s == 7 and error.value.attempt_used
        rig.fake.fail(503)
        with pytest.raises(PsaUnavailable) as error:
            await client.add_note(ticket_id, "one")
        assert error.value.delay_s is None
        assert rig.fake.notes(TICKET_ID) == []


async def test_wrong_credentials_are_final_and_name_no_secret(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        key = {"connectwise": "psa_private_key", "autotask": "psa_secret", "halo": "psa_client_secret"}[vendor]
        client = await _client(rig, session, **{key: "wrong-WRONG-secret"})
        with pytest.raises(PsaRejected) as error:
            await client.find_ticket(client.parse_ref(rig.ticket_ref))
        assert str(error.value).endswith("rejected the credentials (401)")
        assert "wrong-WRONG-secret" not in str(error.value) and rig.secret not in str(error.value)


async def test_html_instead_of_json_is_a_clear_error(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        client = await _client(rig, session)
        rig.fake.fail(200, html=True, times=3)
        with pytest.raises(PsaRejected, match="HTML page instead of JSON"):
            await client.find_ticket(client.parse_ref(rig.ticket_ref))


async def test_a_dropped_answer_after_the_note_is_recorded_is_retryable_and_findable(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        client = await _client(rig, session)
        ticket_id = (await client.find_ticket(client.parse_ref(rig.ticket_ref))).id
        rig.fake.drop_after_note()
        with pytest.raises(PsaUnavailable):
            await client.add_note(ticket_id, "lost answer [m:1]")
        assert rig.fake.notes(TICKET_ID) == ["lost answer [m:1]"]
        assert await client.find_note(ticket_id, "[m:1]") is not None


async def test_a_psa_that_is_down_is_unavailable_then_back(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        client = await _client(rig, session)
        rig.fake.go_down(30)
        with pytest.raises(PsaUnavailable):
            await client.find_ticket(client.parse_ref(rig.ticket_ref))
        rig.fake.up()
        assert (await client.find_ticket(client.parse_ref(rig.ticket_ref))).company == "Contoso Ltd"


async def test_assign_maps_an_email_to_a_member(vendor):
    async with psa_rig(vendor) as rig, aiohttp.ClientSession() as session:
        fake = rig.fake
        if vendor == "connectwise":
            fake.members["dana@acme.example"] = 31
        elif vendor == "autotask":
            fake.resources["dana@acme.example"] = {"id": 31, "email": "dana@acme.example", "defaultServiceDeskRoleID": 4}
        else:
            fake.agents["dana@acme.example"] = 31
        client = await _client(rig, session)
        ticket_id = (await client.find_ticket(client.parse_ref(rig.ticket_ref))).id
        assert await client.assign(ticket_id, "dana@acme.example") is True
        assert await client.assign(ticket_id, "nobody@acme.example") is False
        owner = fake.tickets[TICKET_ID].owner
        assert owner in (31, {"id": 31})
        assert fake.violations == []
