"""HANDOFF_PSA_ASSIGN: the pick-up note's job hands the ticket to the senior, as a step of its own, on SQLite
and PostgreSQL, against each PSA's fake over HTTP. The chat platform is the in-memory port here (the Slack
and Teams journeys ask the real platform APIs' stand-ins)."""

from __future__ import annotations

import pytest

from cards import psa_messages
from core.delivery import ContactEmail
from tests.factories import ACME, CAROL, DANA, escalated
from tests.psa.notes_rig import notes_rig
from tests.psa.rigs import TICKET_ID, VENDORS, psa_rig

DANA_EMAIL = "dana@acme.example"
MEMBER = 31
# What each vendor documents for the owner change (psa/connectwise.py, psa/autotask.py, psa/halo.py).
OWNER_CHANGE = {
    "connectwise": ("PATCH", f"/v4_6_release/apis/3.0/service/tickets/{TICKET_ID}",
                    [{"op": "replace", "path": "owner", "value": {"id": MEMBER}}]),
    "autotask": ("PATCH", "/zone5/ATServicesRest/V1.0/Tickets",  # the zone zoneInformation named
                 {"id": TICKET_ID, "assignedResourceID": MEMBER, "assignedResourceRoleID": 29682833}),
    "halo": ("POST", "/api/tickets", [{"id": TICKET_ID, "agent_id": MEMBER}]),
}
LOOKUP = {"connectwise": "/system/members", "autotask": "/V1.0/Resources/query", "halo": "/api/agent"}
OWNER = {"connectwise": {"id": MEMBER}, "autotask": MEMBER, "halo": MEMBER}


def pickup_notes(rig) -> list[str]:
    return [n for n in rig.fake.notes(TICKET_ID) if n.startswith("Picked up by")]


def lookups(rig) -> list[str]:
    return [path for _, path in rig.fake.requests if path.endswith(LOOKUP[rig.vendor])]


async def outcomes(r, handoff_id) -> list[tuple[str, dict]]:
    return [(e["kind"], e["data"]) for e in await r.handoffs.events(handoff_id) if e["kind"].startswith("psa_assign")]


@pytest.mark.parametrize("vendor", VENDORS)
async def test_pick_up_makes_the_senior_the_tickets_owner(db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        r.clock.advance(minutes=4)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()

        assert rig.fake.tickets[TICKET_ID].owner == OWNER[vendor]
        assert rig.fake.ticket_updates == [OWNER_CHANGE[vendor]]
        assert pickup_notes(rig) == [pickup_notes(rig)[0]] and pickup_notes(rig)[0].startswith("Picked up by Dana after 4 minutes")
        assert await outcomes(r, h.id) == [("psa_assigned", {"psa": vendor, "ticket": rig.ticket_ref, "email": DANA_EMAIL})]
        assert (await r.handoffs.person((await r.handoffs.load(h.id)).claimed_by.id)).email == DANA_EMAIL
        assert [j["state"] for j in await r.assign_jobs(h.id)] == ["done"]
        assert rig.fake.violations == []


async def test_the_same_member_again_is_harmless_and_the_email_is_asked_for_once(db):
    async with psa_rig("halo") as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()
        await r.handoffs.release(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()

        assert rig.fake.tickets[TICKET_ID].owner == MEMBER
        assert rig.fake.ticket_updates == [OWNER_CHANGE["halo"]] * 2
        assert len(pickup_notes(rig)) == 2  # one per pick-up, never one per assignment
        assert r.port.email_lookups == [DANA.external_id]  # stored after the first answer
        assert [k for k, _ in await outcomes(r, h.id)] == ["psa_assigned", "psa_assigned"]
        assert rig.fake.violations == []


@pytest.mark.parametrize("vendor", VENDORS)
async def test_assign_off_writes_the_note_and_nothing_else(db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(db, rig.connection(), assign=False) as r:
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()

        assert len(pickup_notes(rig)) == 1
        assert rig.fake.ticket_updates == [] and lookups(rig) == []
        assert rig.fake.tickets[TICKET_ID].owner is None
        assert await r.assign_jobs(h.id) == [] and r.port.email_lookups == []


@pytest.mark.parametrize("vendor", VENDORS)
async def test_an_email_no_member_has_leaves_the_note_and_a_trail(db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member("someone.else@acme.example", MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()

        assert pickup_notes(rig)[0].startswith("Picked up by Dana after")
        assert lookups(rig) and rig.fake.ticket_updates == []
        assert rig.fake.tickets[TICKET_ID].owner is None
        assert await outcomes(r, h.id) == [("psa_assign_skipped", {"reason": "no_member", "psa": vendor,
                                                                  "ticket": rig.ticket_ref, "email": DANA_EMAIL})]
        assert (await r.handoffs.load(h.id)).notice is None  # not a configuration problem: the trail only
        assert [j["state"] for j in await r.assign_jobs(h.id)] == ["done"]


async def test_no_email_from_the_platform_is_recorded_and_a_missing_permission_shown(db):
    async with psa_rig("connectwise") as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(None, missing="users:read.email")
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()

        assert pickup_notes(rig)[0].startswith("Picked up by Dana after")
        assert lookups(rig) == [] and rig.fake.ticket_updates == []
        assert await outcomes(r, h.id) == [("psa_assign_skipped", {"reason": "no_email", "person": "Dana",
                                                                  "missing": "users:read.email"})]
        assert (await r.handoffs.load(h.id)).notice == psa_messages.notice(psa_messages.NO_EMAILS, "users:read.email")

        # Carol has no address Slack may show (no missing scope): the trail says so, the card says nothing new
        await r.handoffs.set_notice(h.id, None)
        await r.handoffs.release(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.handoffs.claim(workspace=ACME, person=CAROL, handoff_id=h.id)
        await r.drain()
        assert (await outcomes(r, h.id))[-1] == ("psa_assign_skipped", {"reason": "no_email", "person": "Carol"})
        assert (await r.handoffs.load(h.id)).notice is None
        assert len(pickup_notes(rig)) == 2


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_refused_owner_change_is_shown_and_the_note_stands(db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        method, path, _ = OWNER_CHANGE[vendor]
        rig.fake.refuse(method, path, 403)  # the API user may write notes but not edit tickets
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()

        name = psa_messages.VENDORS[vendor]
        assert len(pickup_notes(rig)) == 1 and rig.fake.tickets[TICKET_ID].owner is None
        assert [(j["state"], j["attempts"]) for j in await r.assign_jobs(h.id)] == [("failed", 1)]  # final, not retried
        assert await outcomes(r, h.id) == [("psa_assign_failed", {"error": f"{name} rejected the credentials (403)"})]
        reason = psa_messages.credentials_rejected(name, 403)
        assert (await r.handoffs.load(h.id)).notice == psa_messages.notice(psa_messages.ASSIGN_STOPPED, reason)
        assert {j["state"] for j in await r.jobs(h.id)} == {"done"}  # every note job finished


async def test_a_claimer_who_let_go_is_not_made_owner(db):
    async with psa_rig("connectwise") as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.handoffs.release(workspace=ACME, person=DANA, handoff_id=h.id)  # before any job ran
        await r.drain()

        assert pickup_notes(rig)[0].startswith("Picked up by Dana")
        assert rig.fake.ticket_updates == []
        assert await outcomes(r, h.id) == [("psa_assign_skipped", {"reason": "not_owner"})]


NEW_EMAIL, NEW_MEMBER = "dana.k@acme.example", 32
NEW_OWNER = {"connectwise": {"id": NEW_MEMBER}, "autotask": NEW_MEMBER, "halo": NEW_MEMBER}


async def pick_up_again(r, h, person=DANA) -> None:
    await r.handoffs.release(workspace=ACME, person=person, handoff_id=h.id)
    await r.handoffs.claim(workspace=ACME, person=person, handoff_id=h.id)
    await r.drain()


async def stored_email(r, h) -> tuple[str | None, object]:
    person = await r.handoffs.person((await r.handoffs.load(h.id)).claimed_by.id)
    return person.email, person.email_checked_at


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_stored_email_is_asked_for_again_once_it_is_a_day_old(db, vendor):
    """Dana's address changed in the chat platform: within a day the stored one is used (no look-up); after
    it, the platform is asked again and the new address finds the right member."""
    async with psa_rig(vendor) as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        rig.fake.add_member(NEW_EMAIL, NEW_MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()
        assert rig.fake.tickets[TICKET_ID].owner == OWNER[vendor] and r.port.email_lookups == [DANA.external_id]
        learnt_at = (await stored_email(r, h))[1]
        assert learnt_at is not None

        r.port.emails[DANA.external_id] = ContactEmail(NEW_EMAIL)  # changed in Slack / Teams
        r.clock.advance(hours=23, minutes=59)
        await pick_up_again(r, h)
        assert r.port.email_lookups == [DANA.external_id], "younger than a day: the stored one, not asked"
        assert rig.fake.tickets[TICKET_ID].owner == OWNER[vendor]

        r.clock.advance(minutes=1)
        await pick_up_again(r, h)
        assert r.port.email_lookups == [DANA.external_id] * 2
        assert rig.fake.tickets[TICKET_ID].owner == NEW_OWNER[vendor]
        email, checked_at = await stored_email(r, h)
        assert email == NEW_EMAIL and checked_at > learnt_at
        assert (await outcomes(r, h.id))[-1] == ("psa_assigned", {"psa": vendor, "ticket": rig.ticket_ref,
                                                                  "email": NEW_EMAIL})
        assert rig.fake.violations == []


@pytest.mark.parametrize("vendor", VENDORS)
async def test_no_member_for_the_stored_email_asks_the_platform_once_more(db, vendor):
    async with psa_rig(vendor) as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member(NEW_EMAIL, NEW_MEMBER)  # the PSA knows Dana by her new address only
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()
        assert r.port.email_lookups == [DANA.external_id], "just asked: not asked twice"
        assert (await outcomes(r, h.id))[-1][1]["reason"] == "no_member"

        r.port.emails[DANA.external_id] = ContactEmail(NEW_EMAIL)
        await pick_up_again(r, h)  # the stored address is fresh, but no member has it: one more look-up
        assert r.port.email_lookups == [DANA.external_id] * 2
        assert rig.fake.tickets[TICKET_ID].owner == NEW_OWNER[vendor]
        assert (await stored_email(r, h))[0] == NEW_EMAIL
        assert (await outcomes(r, h.id))[-1] == ("psa_assigned", {"psa": vendor, "ticket": rig.ticket_ref,
                                                                  "email": NEW_EMAIL})


async def test_the_same_address_again_is_no_member_after_one_look_up_and_a_silent_platform_keeps_the_stored(db):
    async with psa_rig("halo") as rig, notes_rig(db, rig.connection(), assign=True) as r:
        rig.fake.add_member("someone.else@acme.example", MEMBER)
        r.port.emails[DANA.external_id] = ContactEmail(DANA_EMAIL)
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.handoffs.claim(workspace=ACME, person=DANA, handoff_id=h.id)
        await r.drain()
        await pick_up_again(r, h)  # stored, no member: asked once more, the same address: no member
        assert r.port.email_lookups == [DANA.external_id] * 2
        assert [d.get("reason") for k, d in await outcomes(r, h.id)] == ["no_member", "no_member"]

        # Days on, the platform shows no address now (a missing scope): the stored one is still used, and a
        # try asks the platform once, member or not.
        r.port.emails[DANA.external_id] = ContactEmail(None, missing="users:read.email")
        r.clock.advance(days=2)
        await pick_up_again(r, h)
        assert r.port.email_lookups == [DANA.external_id] * 3
        assert (await outcomes(r, h.id))[-1][1]["reason"] == "no_member"
        rig.fake.add_member(DANA_EMAIL, NEW_MEMBER)
        r.clock.advance(days=2)
        await pick_up_again(r, h)
        assert r.port.email_lookups == [DANA.external_id] * 4
        assert rig.fake.tickets[TICKET_ID].owner == NEW_MEMBER
        assert (await stored_email(r, h))[0] == DANA_EMAIL
        assert (await r.handoffs.load(h.id)).notice is None
