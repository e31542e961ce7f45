"""Admins set their tenant's PSA connection from the Teams settings card: pick the PSA, its fields, save
(encrypted), test, remove; notes then go to that PSA, not the environment's; nobody else changes it.

The real app behind JWT-signed activities, the Bot Framework stand-in, the PSA fakes over HTTP; the `db`
fixture runs each test on PostgreSQL and on SQLite."""

from __future__ import annotations

import json
import uuid
import logging
from typing import Any

from sqlalchemy import select

from cards import psa_messages
from cards.teams_messages import plain_text
from core.psa_form import PsaStatus, PsaTestResult
from db.tables import events, psa_connections
from tests.fakes.psa_autotask import CODE as AT_CODE, DISCOVERY as AT_DISCOVERY, SECRET as AT_SECRET
from tests.fakes.psa_autotask import USERNAME as AT_USERNAME
from tests.fakes.psa_halo import CLIENT_ID, CLIENT_SECRET, TENANT as HALO_TENANT
from tests.journeys.test_teams_escalation import card_text as markdown_text
from tests.journeys.test_psa_assign import DANA_EMAIL, teams_pick_up
from tests.psa.notes_rig import KEY
from tests.psa.test_assign_jobs import MEMBER
from tests.psa.rigs import TICKET_ID, psa_rig
from tests.teams.harness import (
    TENANT, invoke, message, open_dialog, posted_card, submit, teams_bot, teams_user, use_this_channel,
)

ALEX, JAMIE = teams_user("Alex Admin"), teams_user("Jamie")


def halo_inputs(fake, *, secret: str = CLIENT_SECRET) -> dict[str, str]:
    """What Teams sends for the card's inputs (Action.Execute data carries them)."""
    return {"psa_kind": "halo", "psa_url": fake.url + "/api", "psa_auth_url": fake.url + "/auth",
            "psa_client_id": CLIENT_ID, "psa_client_secret": secret, "psa_tenant": HALO_TENANT}


async def settings_card(bot, sender) -> dict[str, Any]:
    before = len(bot.fake.calls)
    status, _ = await bot.send(message("settings", sender=sender, service_url=bot.fake.service_url))
    assert status in (200, 202)
    [reply] = [c for c in bot.fake.calls[before:] if c.body.get("attachments")]
    return reply.body["attachments"][0]["content"]


async def act(bot, sender, verb: str, **data: str) -> dict[str, Any]:
    """A press of one of the settings card's buttons -> the card it is answered with."""
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": {"workspace": TENANT, **data}},
             "trigger": "manual"}
    status, body = await bot.send(invoke("adaptiveCard/action", value, sender=sender, service_url=bot.fake.service_url))
    assert status == 200 and body["statusCode"] == 200, body
    return body["value"]


def card_text(card) -> str:
    """The card's text as people read it (Teams markdown escapes shown as the characters)."""
    return markdown_text(card).replace("\\", "")


def inputs(card) -> dict[str, dict]:
    return {b["id"]: b for b in card["body"] if b.get("type", "").startswith("Input.")}


def button_verbs(card) -> list[str]:
    return [a["verb"] for b in card["body"] if b.get("type") == "ActionSet" for a in b["actions"]]


async def stored(bot):
    async with bot.services.database.transaction() as conn:
        return (await conn.execute(select(psa_connections))).mappings().all()


async def test_an_admin_saves_halo_and_the_notes_go_there(db, caplog):
    caplog.set_level(logging.DEBUG)
    async with psa_rig("connectwise") as env_rig, psa_rig("halo") as own, \
            teams_bot(db, secret_key=KEY, psa_card_wait_s=0, psa_retry_base_s=0.05, **env_rig.env) as bot:
        await use_this_channel(bot, ALEX)  # the first to set the channel is the first admin
        card = await settings_card(bot, ALEX)
        assert "PSA connection: ConnectWise PSA at" in card_text(card) and "HANDOFF_PSA" in card_text(card)
        assert inputs(card)["psa_kind"]["value"] == "connectwise"

        card = await act(bot, ALEX, "psa_kind", psa_kind="halo")
        assert [i for i in inputs(card) if i.startswith("psa_")] == [
            "psa_kind", "psa_url", "psa_auth_url", "psa_client_id", "psa_tenant", "psa_client_secret", "psa_assign"]
        assert inputs(card)["psa_client_secret"]["style"] == "Password"
        save = next(a for b in card["body"] if b.get("type") == "ActionSet" for a in b["actions"]
                    if a["verb"] == "psa_save")

        card = await act(bot, ALEX, "psa_save", **save["data"], **halo_inputs(own.fake))
        said = card_text(card)
        assert f"Saved: this workspace's PSA connection is HaloPSA at {own.fake.url}/api." in said
        assert "The PSA connection works: Halo accepted the credentials." in said
        [row] = await stored(bot)
        assert row["kind"] == "halo" and CLIENT_SECRET not in json.dumps(dict(row), default=str)

        # Shown again: the secret is never sent back.
        card = await settings_card(bot, ALEX)
        assert "psa_remove" in button_verbs(card) and CLIENT_SECRET not in json.dumps(card)
        secret = inputs(card)["psa_client_secret"]
        assert "value" not in secret and secret["placeholder"] == "saved — leave blank to keep"

        await bot.send(submit(JAMIE, bot.fake.service_url, await open_dialog(bot, JAMIE), ticket=str(TICKET_ID)))
        await bot.drain()
        conversation, _, posted = posted_card(bot)
        assert "Mail flow broken for finance" in json.dumps(posted)  # checked against the tenant's own Halo
        assert own.fake.notes(TICKET_ID)[0].startswith("Escalated in Teams by")
        assert env_rig.fake.all_notes() == [], "the tenant's own PSA, not the environment's"
        assert own.fake.violations == [] and env_rig.fake.violations == []
        async with bot.services.database.transaction() as conn:
            trail = [dict(e) for e in (await conn.execute(select(events))).mappings().all()]
        assert {"psa": f"halo at {own.fake.url}/api"} in [e["data"] for e in trail]
        assert CLIENT_SECRET not in json.dumps(trail, default=str)
    assert CLIENT_SECRET not in caplog.text


async def test_wrong_credentials_non_admins_and_removal(db, caplog):
    caplog.set_level(logging.DEBUG)
    async with psa_rig("halo") as own, teams_bot(db, secret_key=KEY) as bot:
        await use_this_channel(bot, ALEX)
        card = await settings_card(bot, JAMIE)
        assert "psa_kind" not in inputs(card) and button_verbs(card) == [], "no form for non-admins"
        card = await act(bot, JAMIE, "psa_save", psa_form_kind="halo", **halo_inputs(own.fake))
        assert "Only a Handoff admin can change that. Ask a Handoff admin (Alex Admin)." in card_text(card)
        assert await stored(bot) == []

        card = await act(bot, ALEX, "psa_save", psa_form_kind="halo", **halo_inputs(own.fake, secret="wrong-S3CRET"))
        rejected = plain_text(psa_messages.test_result(PsaTestResult("rejected", "halo", status=401)))
        assert rejected == "Halo rejected the credentials (401). Check them, enter them again and save."
        assert rejected in card_text(card)
        card = await act(bot, ALEX, "psa_test")
        assert rejected in card_text(card)

        bad = {**halo_inputs(own.fake), "psa_url": "http://halo.example.com/api", "psa_client_id": ""}
        card = await act(bot, ALEX, "psa_save", psa_form_kind="halo", **bad)
        said = card_text(card)
        assert "Nothing was saved: please fix the highlighted fields and save again." in said
        assert "Resource server URL must start with https://" in said and "Client ID is required for HaloPSA." in said

        card = await act(bot, JAMIE, "psa_remove")
        assert "Only a Handoff admin can change that" in card_text(card) and len(await stored(bot)) == 1
        card = await act(bot, ALEX, "psa_remove")
        assert "Removed this workspace's PSA connection. Ticket notes are not written until one is set up." in \
            card_text(card)
        assert await stored(bot) == [] and "PSA connection: none" in card_text(card)
    assert "wrong-S3CRET" not in caplog.text and CLIENT_SECRET not in caplog.text


async def test_without_a_secret_key_nothing_is_stored(db):
    async with psa_rig("halo") as own, teams_bot(db) as bot:
        await use_this_channel(bot, ALEX)
        card = await act(bot, ALEX, "psa_save", psa_form_kind="halo", **halo_inputs(own.fake))
        assert "set HANDOFF_SECRET_KEY" in card_text(card)
        assert await stored(bot) == []


def autotask_inputs(fake) -> dict[str, str]:
    """The Autotask fields as typed: no zone URL (discovered from the API user at the fake's discovery URL)."""
    return {"psa_kind": "autotask", "psa_username": AT_USERNAME, "psa_secret": AT_SECRET,
            "psa_integration_code": AT_CODE, "psa_url": "", "psa_discovery_url": fake.url + AT_DISCOVERY}


async def test_an_admin_saves_autotask_its_zone_is_discovered_and_the_notes_land_there(db, caplog):
    caplog.set_level(logging.DEBUG)
    async with psa_rig("autotask") as own, \
            teams_bot(db, secret_key=KEY, psa_card_wait_s=0, psa_retry_base_s=0.05) as bot:
        await use_this_channel(bot, ALEX)
        card = await act(bot, ALEX, "psa_kind", psa_kind="autotask")
        assert [i for i in inputs(card) if i.startswith("psa_")] == [
            "psa_kind", "psa_username", "psa_integration_code", "psa_url", "psa_discovery_url", "psa_secret",
            "psa_assign"]
        assert inputs(card)["psa_secret"]["style"] == inputs(card)["psa_integration_code"]["style"] == "Password"
        save = next(a for b in card["body"] if b.get("type") == "ActionSet" for a in b["actions"]
                    if a["verb"] == "psa_save")

        card = await act(bot, ALEX, "psa_save", **save["data"], **autotask_inputs(own.fake))
        said = card_text(card)
        assert "Saved: this workspace's PSA connection is Autotask PSA at the zone Autotask finds from the API user." \
            in said
        assert "The PSA connection works: Autotask accepted the credentials." in said
        assert ("GET", AT_DISCOVERY + "/V1.0/zoneInformation") in own.fake.requests  # the zone, asked of Autotask
        [row] = await stored(bot)
        assert row["kind"] == "autotask"
        assert AT_SECRET not in json.dumps(dict(row), default=str) and AT_CODE not in json.dumps(dict(row), default=str)
        card = await settings_card(bot, ALEX)
        assert AT_SECRET not in json.dumps(card) and AT_CODE not in json.dumps(card)

        await bot.send(submit(JAMIE, bot.fake.service_url, await open_dialog(bot, JAMIE), ticket=own.ticket_ref))
        await bot.drain()
        _, _, posted = posted_card(bot)
        assert "Mail flow broken for finance" in json.dumps(posted)  # checked against the tenant's Autotask
        notes = own.fake.notes(TICKET_ID)
        assert notes[0].startswith("Escalated in Teams by Jamie") and notes[1].startswith("Assessment (")
        assert own.fake.violations == []  # every call carried ApiIntegrationCode, UserName and Secret as documented
    assert AT_SECRET not in caplog.text and AT_CODE not in caplog.text


async def test_a_tenant_switches_ticket_assignment_off_where_the_server_assigns(db):
    """HANDOFF_PSA_ASSIGN is on; this tenant's PSA settings toggle it off: the note, no owner change."""
    senior = teams_user("Dana")
    async with psa_rig("halo") as own, teams_bot(db, secret_key=KEY, psa_card_wait_s=0, psa_retry_base_s=0.05,
                                                 psa_assign=True) as bot:
        bot.fake.add_member({**senior, "email": DANA_EMAIL})  # were it on, Dana would become the owner
        own.fake.add_member(DANA_EMAIL, MEMBER)
        await use_this_channel(bot, ALEX)
        card = await act(bot, ALEX, "psa_kind", psa_kind="halo")
        toggle = inputs(card)["psa_assign"]
        assert toggle["type"] == "Input.Toggle" and toggle["value"] == "true", "the server's default: on"
        assert toggle["title"] == psa_messages.ASSIGN_LABEL
        save = next(a for b in card["body"] if b.get("type") == "ActionSet" for a in b["actions"]
                    if a["verb"] == "psa_save")
        card = await act(bot, ALEX, "psa_save", **save["data"], **halo_inputs(own.fake), psa_assign="false")
        assert "Saved: this workspace's PSA connection is HaloPSA" in card_text(card)
        assert inputs(await settings_card(bot, ALEX))["psa_assign"]["value"] == "false"

        handoff_id = await teams_pick_up(bot, own, senior)
        assert [n for n in own.fake.notes(TICKET_ID) if n.startswith("Picked up by Dana")]
        assert own.fake.tickets[TICKET_ID].owner is None and own.fake.ticket_updates == []
        assert [c for c in bot.fake.of_kind("member") if c.body["member"] == senior["id"]] == [],             "nobody asked Teams for Dana's email"
        trail = [e["kind"] for e in await bot.handoffs.events(uuid.UUID(handoff_id))]
        assert not [k for k in trail if k.startswith("psa_assign")]


async def test_on_the_environments_connection_a_tenant_switches_assignment_off_without_credentials(db):
    """HANDOFF_PSA=halo with HANDOFF_PSA_ASSIGN on, no HANDOFF_SECRET_KEY: the settings card's toggle and its own
    Save turn it off for this tenant (nothing stored but the switch); pick-up then only writes the note."""
    senior = teams_user("Dana")
    async with psa_rig("halo") as env, teams_bot(db, psa_card_wait_s=0, psa_retry_base_s=0.05, psa_assign=True,
                                                 **env.env) as bot:
        bot.fake.add_member({**senior, "email": DANA_EMAIL})  # were it on, Dana would become the owner
        env.fake.add_member(DANA_EMAIL, MEMBER)
        await use_this_channel(bot, ALEX)
        card = await settings_card(bot, ALEX)
        assert "Ticket owner: on — the senior who picks up becomes the ticket's owner (the server's default, " \
               "HANDOFF_PSA_ASSIGN)." in card_text(card)
        assert inputs(card)["psa_assign"]["value"] == "true" and "psa_assign" in button_verbs(card)

        card = await act(bot, JAMIE, "psa_assign", psa_assign="false")  # not an admin
        assert "Only a Handoff admin" in card_text(card)
        card = await act(bot, ALEX, "psa_assign", psa_assign="false")
        assert plain_text(psa_messages.assign_set(PsaStatus("halo", assign=False))) in card_text(card)
        card = await settings_card(bot, ALEX)
        assert inputs(card)["psa_assign"]["value"] == "false"
        assert "Ticket owner: off — picking up leaves the ticket's owner as it is (this workspace's choice)." \
            in card_text(card)
        assert await stored(bot) == [], "the environment's credentials are not copied into the database"

        handoff_id = await teams_pick_up(bot, env, senior)
        assert [n for n in env.fake.notes(TICKET_ID) if n.startswith("Picked up by Dana")]
        assert env.fake.tickets[TICKET_ID].owner is None and env.fake.ticket_updates == []
        trail = [e["kind"] for e in await bot.handoffs.events(uuid.UUID(handoff_id))]
        assert not [k for k in trail if k.startswith("psa_assign")]
        assert env.fake.violations == []
