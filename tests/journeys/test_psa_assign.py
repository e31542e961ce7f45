"""HANDOFF_PSA_ASSIGN=true end to end: a senior picks up on Slack or Teams, the bot asks that platform's own
API for their email (Slack users.info, the Bot Framework's conversation member), keeps it, and makes the
PSA member with that email the ticket's owner. The real app, the platform stand-ins and the PSA fakes over
HTTP, on PostgreSQL and SQLite.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from cards import psa_messages
from cards import slack as slack_cards
from cards.messages import worded
from tests.fakes.slack_api import ACME_TEAM
from tests.journeys.slack_bot import DANA, JAMIE, card_text, eventually, running_bot
from tests.journeys.test_teams_escalation import card_text as teams_card_text
from tests.psa.rigs import TICKET_ID, VENDORS, psa_rig
from tests.psa.test_assign_jobs import LOOKUP, MEMBER, OWNER, OWNER_CHANGE
from tests.teams.harness import card_action, open_dialog, posted_card, submit, teams_bot, teams_user, use_this_channel

DANA_EMAIL = "dana.k@acme.example"
NEW_EMAIL, NEW_MEMBER = "dana.kowalski@acme.example", 32
NEW_OWNER = {"connectwise": {"id": NEW_MEMBER}, "autotask": NEW_MEMBER, "halo": NEW_MEMBER}


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request):
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


def _pickup_notes(rig) -> list[str]:
    return [n for n in rig.fake.notes(TICKET_ID) if n.startswith("Picked up by")]


async def _assign_events(handoffs, handoff_id) -> list[tuple[str, dict]]:
    return [(e["kind"], e["data"]) for e in await handoffs.events(handoff_id) if e["kind"].startswith("psa_assign")]


async def _slack_pick_up(bot, rig):
    handoff = await bot.escalate(JAMIE, summary="Finance mailbox rejects external mail", ticket=rig.ticket_ref)
    ts = await bot.card_ts(handoff.id)
    assert (await bot.press(DANA, "pickup", handoff.id, ts)).status == 200
    await eventually(lambda: _pickup_notes(rig))
    await bot.settled()
    return handoff, ts


@pytest.mark.parametrize("vendor", VENDORS)
async def test_slack_pick_up_makes_the_senior_the_tickets_owner(database_url, vendor):
    async with psa_rig(vendor) as rig, running_bot(database_url, psa_retry_base_s=0.05, psa_assign=True,
                                                   **rig.env) as bot:
        bot.fake.add_user(DANA.user_id, DANA.name, team_id=ACME_TEAM.id, email=DANA_EMAIL)
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        handoff, _ = await _slack_pick_up(bot, rig)

        assert rig.fake.tickets[TICKET_ID].owner == OWNER[vendor]
        assert rig.fake.ticket_updates == [OWNER_CHANGE[vendor]]
        [note] = _pickup_notes(rig)
        assert note.startswith("Picked up by Dana after less than a minute")  # the name Slack shows
        assert any(c.args.get("user") == DANA.user_id for c in bot.fake.calls_to("users.info"))
        state = await bot.handoffs.load(handoff.id)
        assert (await bot.handoffs.person(state.claimed_by.id)).email == DANA_EMAIL
        assert await _assign_events(bot.handoffs, handoff.id) == [
            ("psa_assigned", {"psa": vendor, "ticket": rig.ticket_ref, "email": DANA_EMAIL})]
        assert rig.fake.violations == []


async def test_slack_assign_off_by_default(pg_url):
    async with psa_rig("connectwise") as rig, running_bot(pg_url, psa_retry_base_s=0.05, **rig.env) as bot:
        bot.fake.add_user(DANA.user_id, DANA.name, team_id=ACME_TEAM.id, email=DANA_EMAIL)
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        handoff, _ = await _slack_pick_up(bot, rig)

        assert len(_pickup_notes(rig)) == 1
        assert rig.fake.ticket_updates == [] and rig.fake.tickets[TICKET_ID].owner is None
        assert not [p for _, p in rig.fake.requests if p.endswith(LOOKUP["connectwise"])]
        assert await _assign_events(bot.handoffs, handoff.id) == []


async def test_slack_without_the_email_scope_writes_the_note_and_tells_admins(pg_url):
    async with psa_rig("halo") as rig, running_bot(pg_url, psa_retry_base_s=0.05, psa_assign=True, **rig.env) as bot:
        team = bot.fake.teams[ACME_TEAM.bot_token]  # installed before users:read.email was asked for
        bot.fake.teams[ACME_TEAM.bot_token] = replace(team, scopes=tuple(s for s in team.scopes if s != "users:read.email"))
        bot.fake.add_user(DANA.user_id, DANA.name, team_id=ACME_TEAM.id, email=DANA_EMAIL)  # Slack won't show it
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        handoff, ts = await _slack_pick_up(bot, rig)

        assert _pickup_notes(rig)[0].lower().startswith("picked up by dana after")
        assert rig.fake.ticket_updates == [] and rig.fake.tickets[TICKET_ID].owner is None
        assert not [p for _, p in rig.fake.requests if p.endswith(LOOKUP["halo"])]
        state = await bot.handoffs.load(handoff.id)
        assert await _assign_events(bot.handoffs, handoff.id) == [("psa_assign_skipped", {
            "reason": "no_email", "person": state.claimed_by.display_name, "missing": "users:read.email"})]
        assert (await bot.handoffs.person(state.claimed_by.id)).email is None
        shown = await eventually(lambda: "PSA ticket not assigned" in card_text(bot.card(ts)) and card_text(bot.card(ts)))
        view = psa_messages.card_notice(psa_messages.notice(psa_messages.NO_EMAILS, "users:read.email"))
        assert worded(view, hints=slack_cards.HINTS, escape=slack_cards.escape_mrkdwn) in shown


async def test_slack_unknown_email_writes_the_note_and_records_why(pg_url):
    async with psa_rig("autotask") as rig, running_bot(pg_url, psa_retry_base_s=0.05, psa_assign=True,
                                                       **rig.env) as bot:
        bot.fake.add_user(DANA.user_id, DANA.name, team_id=ACME_TEAM.id, email=DANA_EMAIL)
        rig.fake.add_member("someone.else@acme.example", MEMBER)
        handoff, ts = await _slack_pick_up(bot, rig)

        assert _pickup_notes(rig)[0].lower().startswith("picked up by dana after")
        assert rig.fake.ticket_updates == []
        assert await _assign_events(bot.handoffs, handoff.id) == [
            ("psa_assign_skipped", {"reason": "no_member", "psa": "autotask", "ticket": rig.ticket_ref,
                                    "email": DANA_EMAIL})]
        assert "PSA ticket" not in card_text(bot.card(ts))


async def teams_pick_up(bot, rig, senior) -> str:
    junior, admin, url = teams_user("Jamie"), teams_user("Alex Admin"), bot.fake.service_url
    await use_this_channel(bot, admin)
    dialog = await open_dialog(bot, junior)
    status, _ = await bot.send(submit(junior, url, dialog, ticket=rig.ticket_ref))
    assert status == 200
    await bot.drain()
    conversation, _, card = posted_card(bot)
    handoff_id = card["actions"][0]["data"]["handoff_id"]
    status, _ = await bot.send(card_action("pickup", handoff_id, sender=senior, service_url=url,
                                           conversation_id=conversation))
    assert status == 200
    await bot.drain()
    return handoff_id


async def test_teams_pick_up_asks_the_connector_for_the_email_and_assigns(pg_db):
    senior = teams_user("Dana")
    async with psa_rig("halo") as rig, teams_bot(pg_db, psa_retry_base_s=0.05, psa_assign=True, **rig.env) as bot:
        # What Teams answers for the senior (a TeamsChannelAccount): email and userPrincipalName
        bot.fake.add_member({**senior, "email": DANA_EMAIL, "userPrincipalName": "dana@acme.onmicrosoft.example"})
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        handoff_id = await teams_pick_up(bot, rig, senior)

        [note] = _pickup_notes(rig)
        assert note.startswith("Picked up by Dana after")
        lookups = [c for c in bot.fake.of_kind("member") if c.body["member"] == senior["id"]]
        assert len(lookups) == 1 and lookups[0].path.endswith(f"/members/{senior['id']}")
        assert rig.fake.tickets[TICKET_ID].owner == MEMBER
        assert rig.fake.ticket_updates == [OWNER_CHANGE["halo"]]
        state = await bot.handoffs.load(uuid.UUID(handoff_id))
        assert state.claimed_by.external_id == senior["aadObjectId"]
        assert (await bot.handoffs.person(state.claimed_by.id)).email == DANA_EMAIL
        assert "PSA ticket" not in teams_card_text(posted_card(bot)[2])
        assert rig.fake.violations == []


async def test_teams_member_unknown_to_the_connector_writes_the_note_and_records_why(pg_db):
    senior = teams_user("Dana")  # not a member the connector knows: it answers 404
    async with psa_rig("connectwise") as rig, teams_bot(pg_db, psa_retry_base_s=0.05, psa_assign=True,
                                                        **rig.env) as bot:
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        handoff_id = await teams_pick_up(bot, rig, senior)

        assert _pickup_notes(rig)[0].startswith("Picked up by Dana after")
        assert [c.body["member"] for c in bot.fake.of_kind("member")] == [senior["id"]]
        assert rig.fake.ticket_updates == [] and rig.fake.tickets[TICKET_ID].owner is None
        assert await _assign_events(bot.handoffs, uuid.UUID(handoff_id)) == [
            ("psa_assign_skipped", {"reason": "no_email", "person": "Dana"})]
        assert "PSA ticket" not in teams_card_text(posted_card(bot)[2])


async def _slack_assigned(bot, rig) -> tuple[str, dict]:
    """One more escalation picked up by Dana on Slack -> its assignment's outcome, once recorded."""
    handoff = await bot.escalate(JAMIE, summary="Finance mailbox rejects external mail", ticket=rig.ticket_ref)
    ts = await bot.card_ts(handoff.id)
    assert (await bot.press(DANA, "pickup", handoff.id, ts)).status == 200
    [outcome] = await eventually(lambda: _assign_events(bot.handoffs, handoff.id), timeout_s=15)
    return outcome


async def _dana(bot):
    from sqlalchemy import select

    from db.tables import people

    async with bot.services.database.transaction() as conn:
        person_id = (await conn.execute(select(people.c.id).where(people.c.external_id == DANA.user_id))).scalar_one()
    return await bot.handoffs.person(person_id)


async def test_slack_an_email_learnt_over_a_day_ago_is_asked_for_again(database_url):
    """Dana's address changed in Slack since Handoff learnt it two days ago: the pick-up asks Slack again and
    makes the member with her new address the owner, not the one with the old."""
    from datetime import timedelta

    from db import store

    async with psa_rig("connectwise") as rig, running_bot(database_url, psa_retry_base_s=0.05, psa_assign=True,
                                                          **rig.env) as bot:
        bot.fake.add_user(DANA.user_id, DANA.name, team_id=ACME_TEAM.id, email=DANA_EMAIL)
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        rig.fake.add_member(NEW_EMAIL, NEW_MEMBER)
        assert (await _slack_assigned(bot, rig))[1]["email"] == DANA_EMAIL
        assert rig.fake.tickets[TICKET_ID].owner == OWNER["connectwise"]

        bot.fake.add_user(DANA.user_id, DANA.name, team_id=ACME_TEAM.id, email=NEW_EMAIL)  # changed in Slack
        dana = await _dana(bot)
        async with bot.services.database.transaction() as conn:  # learnt two days ago
            await store.set_person_email(conn, person_id=dana.id, email=DANA_EMAIL,
                                         now=bot.handoffs.clock() - timedelta(days=2))
        assert await _slack_assigned(bot, rig) == ("psa_assigned", {"psa": "connectwise", "ticket": rig.ticket_ref,
                                                                    "email": NEW_EMAIL})
        assert rig.fake.tickets[TICKET_ID].owner == NEW_OWNER["connectwise"]
        assert (await bot.handoffs.person(dana.id)).email == NEW_EMAIL
        assert rig.fake.violations == []


async def test_slack_no_member_for_the_stored_email_asks_slack_once_more(pg_url):
    async with psa_rig("halo") as rig, running_bot(pg_url, psa_retry_base_s=0.05, psa_assign=True, **rig.env) as bot:
        bot.fake.add_user(DANA.user_id, DANA.name, team_id=ACME_TEAM.id, email=DANA_EMAIL)
        rig.fake.add_member(NEW_EMAIL, NEW_MEMBER)  # the PSA already knows Dana by her new address
        assert (await _slack_assigned(bot, rig))[1]["reason"] == "no_member"  # Slack still had the old one

        bot.fake.add_user(DANA.user_id, DANA.name, team_id=ACME_TEAM.id, email=NEW_EMAIL)
        assert await _slack_assigned(bot, rig) == ("psa_assigned", {"psa": "halo", "ticket": rig.ticket_ref,
                                                                    "email": NEW_EMAIL})
        assert rig.fake.tickets[TICKET_ID].owner == NEW_MEMBER
        assert (await bot.handoffs.person((await _dana(bot)).id)).email == NEW_EMAIL
        assert rig.fake.violations == []


async def test_teams_an_email_learnt_over_a_day_ago_is_asked_of_the_connector_again(pg_db):
    from datetime import timedelta

    from db import store

    senior = teams_user("Dana")
    async with psa_rig("halo") as rig, teams_bot(pg_db, psa_retry_base_s=0.05, psa_assign=True, **rig.env) as bot:
        bot.fake.add_member({**senior, "email": DANA_EMAIL})
        rig.fake.add_member(DANA_EMAIL, MEMBER)
        rig.fake.add_member(NEW_EMAIL, NEW_MEMBER)
        handoff_id = uuid.UUID(await teams_pick_up(bot, rig, senior))
        assert rig.fake.tickets[TICKET_ID].owner == MEMBER
        state = await bot.handoffs.load(handoff_id)
        conversation = posted_card(bot)[0]

        bot.fake.add_member({**senior, "email": NEW_EMAIL})  # changed in Entra ID / Teams
        async with bot.services.database.transaction() as conn:
            await store.set_person_email(conn, person_id=state.claimed_by.id, email=DANA_EMAIL,
                                         now=bot.handoffs.clock() - timedelta(days=2))
        for verb in ("release", "pickup"):
            status, _ = await bot.send(card_action(verb, str(handoff_id), sender=senior,
                                                   service_url=bot.fake.service_url, conversation_id=conversation))
            assert status == 200
            await bot.drain()
        assert rig.fake.tickets[TICKET_ID].owner == NEW_MEMBER
        assert (await bot.handoffs.person(state.claimed_by.id)).email == NEW_EMAIL
        assert [c for c in bot.fake.of_kind("member") if c.body["member"] == senior["id"]][1:], "asked again"
        assert (await _assign_events(bot.handoffs, handoff_id))[-1] == (
            "psa_assigned", {"psa": "halo", "ticket": rig.ticket_ref, "email": NEW_EMAIL})
        assert rig.fake.violations == []
