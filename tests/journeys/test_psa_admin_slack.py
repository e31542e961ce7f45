"""Admins set their workspace's PSA connection from Slack's App Home: a modal per PSA, saved encrypted,
tested against the PSA, removed; a saved connection wins over the environment's; nobody else changes it.

The real app behind signed Slack requests, the PSA fakes over HTTP, PostgreSQL and SQLite."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from cards import psa_messages
from cards.slack_messages import paragraphs_mrkdwn
from core.psa_form import PsaStatus, PsaTestResult
from db.tables import events, psa_connections
from standins.slack import requests as slack
from standins.slack.requests import Actor
from tests.psa.test_assign_jobs import MEMBER, OWNER, OWNER_CHANGE
from tests.fakes.psa_connectwise import CLIENT_ID, COMPANY, PRIVATE, PUBLIC
from tests.journeys.test_psa_assign import DANA_EMAIL
from tests.journeys.slack_bot import DANA, JAMIE, card_text, eventually, running_bot
from tests.journeys.test_slack_setup import workspace_key
from tests.psa.notes_rig import KEY
from tests.psa.rigs import TICKET_ID, psa_rig

ALEX = Actor("U-ALEX", "Alex")


def cw_values(url: str, *, private: str = PRIVATE, company: str = COMPANY) -> dict:
    """The PSA modal's `view.state.values` for ConnectWise, as Slack sends them."""
    typed = {"url": url, "company": company, "public_key": PUBLIC, "private_key": private, "client_id": CLIENT_ID}
    return {f"psa_{name}": {name: {"type": "plain_text_input", "value": value or None}} for name, value in typed.items()}


async def home(bot, actor):
    before = len(bot.fake.calls_to("views.publish"))
    await bot.send(slack.event_callback("T-ACME", {"type": "app_home_opened", "user": actor.user_id, "tab": "home"}))
    await eventually(lambda: len(bot.fake.calls_to("views.publish")) > before)
    return bot.fake.world.home_views[actor.user_id]


async def click(bot, actor, action_id, view, **kwargs):
    answer = await bot.send(slack.view_action(actor, action_id=action_id, view=view, **kwargs))
    assert answer.status == 200


async def open_psa(bot, actor) -> dict:
    """App Home → "Set up PSA connection" -> the modal Slack was asked to open."""
    before = len(bot.fake.calls_to("views.open"))
    await click(bot, actor, "handoff_psa_open", {"id": "V-HOME", "type": "home"})
    await eventually(lambda: len(bot.fake.calls_to("views.open")) > before)
    return list(bot.fake.world.views.values())[-1]


async def submit_psa(bot, actor, view, values) -> dict:
    body = slack.view_submission(actor, view_id=view["id"], values=values, callback_id="handoff_psa",
                                 private_metadata=view.get("private_metadata", ""))
    return (await bot.send(body)).json()


def field(view, name):
    return next(b for b in view["blocks"] if b.get("block_id") == f"psa_{name}")


async def stored_row(bot):
    async with bot.services.database.transaction() as conn:
        return (await conn.execute(select(psa_connections))).mappings().all()


async def all_events(bot):
    async with bot.services.database.transaction() as conn:
        return [dict(e) for e in (await conn.execute(select(events))).mappings().all()]


async def admin_bot(bot) -> None:
    await bot.handoffs.bootstrap_admin(workspace=workspace_key(), person=slack_person(ALEX))


def slack_person(actor):
    from core.models import PersonKey
    return PersonKey(actor.user_id, actor.name.lower())


async def test_an_admin_saves_connectwise_and_its_notes_go_there_not_to_the_environments(db, caplog):
    """On PostgreSQL and SQLite (the `db` fixture)."""
    caplog.set_level(logging.DEBUG)
    url = db.url
    async with psa_rig("connectwise") as env_rig, psa_rig("connectwise") as own, \
            running_bot(url, secret_key=KEY, psa_retry_base_s=0.05, **env_rig.env) as bot:
        await admin_bot(bot)
        shown = card_text(await home(bot, ALEX))
        assert f"PSA connection: *ConnectWise PSA at {env_rig.fake.url}*" in shown and "HANDOFF_PSA" in shown

        view = await open_psa(bot, ALEX)
        assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
            "psa_url", "psa_company", "psa_public_key", "psa_client_id", "psa_private_key", "psa_assign"]
        answer = await submit_psa(bot, ALEX, view, cw_values(own.fake.url))
        assert answer["response_action"] == "update", answer
        assert f"Saved: this workspace's PSA connection is *ConnectWise PSA at {own.fake.url}*." in card_text(
            {"blocks": answer["view"]["blocks"]})
        await eventually(lambda: bot.fake.calls_to("views.update"))
        tested = card_text({"blocks": bot.fake.calls_to("views.update")[-1].args["view"]["blocks"]})
        assert "The PSA connection works: ConnectWise accepted the credentials." in tested

        [row] = await stored_row(bot)
        assert row["kind"] == "connectwise" and PRIVATE not in json.dumps({**row, "updated_at": ""}, default=str)
        assert PRIVATE.encode() not in str(row["secrets"]).encode()

        # Opened again: the secret is never sent back; leaving it blank keeps it.
        shown = card_text(await home(bot, ALEX))
        assert f"ConnectWise PSA at {own.fake.url}* (this workspace's own)" in shown
        again = await open_psa(bot, ALEX)
        secret = field(again, "private_key")
        assert "initial_value" not in secret["element"] and secret["hint"]["text"] == "saved — leave blank to keep"
        assert field(again, "company")["element"]["initial_value"] == COMPANY
        assert PRIVATE not in json.dumps(again)
        answer = await submit_psa(bot, ALEX, again, cw_values(own.fake.url, private=""))
        assert answer["response_action"] == "update", answer

        handoff = await bot.escalate(JAMIE, summary="Finance mailbox rejects external mail", ticket=str(TICKET_ID))
        await eventually(lambda: own.fake.notes(TICKET_ID))
        await bot.settled()
        assert own.fake.notes(TICKET_ID)[0].startswith("Escalated in Slack by")
        assert env_rig.fake.all_notes() == [], "the workspace's own PSA, not the environment's"
        kinds = [e["kind"] for e in await bot.handoffs.events(handoff.id)]
        assert "psa_note_failed" not in kinds
        trail = await all_events(bot)
        assert [e["data"] for e in trail if e["kind"] == "psa_connection_set"] == [
            {"psa": f"connectwise at {own.fake.url}"}] * 2 and PRIVATE not in json.dumps(trail, default=str)
        assert own.fake.violations == [] and env_rig.fake.violations == []
    assert PRIVATE not in caplog.text


async def test_wrong_credentials_are_reported_and_removing_falls_back_to_the_environment(pg_url, caplog):
    caplog.set_level(logging.DEBUG)
    async with psa_rig("connectwise") as env_rig, psa_rig("connectwise") as own, \
            running_bot(pg_url, secret_key=KEY, **env_rig.env) as bot:
        await admin_bot(bot)
        view = await open_psa(bot, ALEX)
        answer = await submit_psa(bot, ALEX, view, cw_values(own.fake.url, private="wrong-S3CRET-private"))
        assert answer["response_action"] == "update"
        await eventually(lambda: bot.fake.calls_to("views.update"))
        said = card_text({"blocks": bot.fake.calls_to("views.update")[-1].args["view"]["blocks"]})
        rejected = paragraphs_mrkdwn(psa_messages.test_result(PsaTestResult("rejected", "connectwise", status=401)))
        assert rejected == "ConnectWise rejected the credentials (401). Check them, enter them again and save."
        assert rejected in said

        # The Test button in App Home says the same.
        before = len(bot.fake.calls_to("views.update"))
        await click(bot, ALEX, "handoff_psa_test", {"id": "V-HOME", "type": "home"})
        await eventually(lambda: len(bot.fake.calls_to("views.update")) > before)
        assert rejected in card_text({"blocks": bot.fake.calls_to("views.update")[-1].args["view"]["blocks"]})

        own.fake.go_down(30)
        await click(bot, ALEX, "handoff_psa_test", {"id": "V-HOME", "type": "home"})
        await eventually(lambda: len(bot.fake.calls_to("views.update")) > before + 1)
        assert psa_messages.unreachable("ConnectWise", "").removesuffix(" ()") in card_text(
            {"blocks": bot.fake.calls_to("views.update")[-1].args["view"]["blocks"]})

        opened = len(bot.fake.calls_to("views.open"))
        await click(bot, ALEX, "handoff_psa_remove", {"id": "V-HOME", "type": "home"})
        await eventually(lambda: len(bot.fake.calls_to("views.open")) > opened)
        said = card_text({"blocks": bot.fake.calls_to("views.open")[-1].args["view"]["blocks"]})
        assert "Removed this workspace's PSA connection. The server's configured connection applies" in said
        assert await stored_row(bot) == []
        await eventually(lambda: "(from the server's configuration" in card_text(bot.fake.world.home_views["U-ALEX"]))
    assert "wrong-S3CRET-private" not in caplog.text and PRIVATE not in caplog.text


async def test_only_admins_and_only_with_a_secret_key_and_valid_fields(sqlite_url):
    async with psa_rig("connectwise") as own, running_bot(sqlite_url, slack_channel=None) as bot:  # no HANDOFF_SECRET_KEY
        await admin_bot(bot)
        # A non-admin sees no buttons, and is refused if they click or submit anyway.
        assert "handoff_psa_open" not in json.dumps(await home(bot, JAMIE))
        refused = card_text({"blocks": (await open_psa(bot, JAMIE))["blocks"]}).strip()
        assert refused == "Only a Handoff admin can change that. Ask a Handoff admin (alex)."
        view = await open_psa(bot, ALEX)
        answer = await submit_psa(bot, JAMIE, view, cw_values(own.fake.url))
        assert answer == {"response_action": "errors",
                          "errors": {"psa_url": "Only a Handoff admin can change that. Ask a Handoff admin (alex)."}}

        answer = await submit_psa(bot, ALEX, view, cw_values(own.fake.url))
        assert answer["response_action"] == "errors" and "set HANDOFF_SECRET_KEY" in answer["errors"]["psa_url"]
        assert await stored_row(bot) == []

    async with running_bot(sqlite_url, slack_channel=None, secret_key=KEY) as bot:
        view = await open_psa(bot, ALEX)
        answer = await submit_psa(bot, ALEX, view, cw_values("http://psa.example.com/v4_6_release/apis/3.0", company=""))
        assert answer == {"response_action": "errors", "errors": {
            "psa_url": "API URL must start with https:// (credentials never travel unencrypted).",
            "psa_company": "Company ID is required for ConnectWise PSA."}}

        # Another PSA picked: the modal shows its fields.
        await click(bot, ALEX, "handoff_psa_kind", view, selected="halo", block_id="handoff_psa_picker")
        await eventually(lambda: bot.fake.calls_to("views.update"))
        update = bot.fake.calls_to("views.update")[-1].args
        assert update["view_id"] == view["id"] and update["view"]["private_metadata"] == "halo"
        labels = [b["label"]["text"] for b in update["view"]["blocks"] if b["type"] == "input"]
        assert labels == ["Resource server URL", "Authorisation server URL", "Client ID", "Tenant (optional)",
                          "Client secret", "Ticket owner"]
        assert await stored_row(bot) == []



async def test_an_admin_switches_ticket_assignment_on_where_the_server_does_not(pg_url):
    """HANDOFF_PSA_ASSIGN is off; this workspace's PSA settings tick the box: pick-up makes Dana the owner."""
    async with psa_rig("connectwise") as own, running_bot(pg_url, secret_key=KEY, psa_retry_base_s=0.05) as bot:
        await admin_bot(bot)
        bot.fake.add_user(DANA.user_id, DANA.name, team_id="T-ACME", email=DANA_EMAIL)
        own.fake.add_member(DANA_EMAIL, MEMBER)
        view = await open_psa(bot, ALEX)
        switch = field(view, "assign")["element"]
        assert switch["type"] == "checkboxes" and "initial_options" not in switch, "the server's default: off"
        assert switch["options"][0]["text"]["text"] == psa_messages.ASSIGN_LABEL
        ticked = {"psa_assign": {"assign": {"type": "checkboxes", "selected_options": switch["options"]}}}
        answer = await submit_psa(bot, ALEX, view, {**cw_values(own.fake.url), **ticked})
        assert answer["response_action"] == "update", answer
        assert field(await open_psa(bot, ALEX), "assign")["element"].get("initial_options") == switch["options"]

        handoff = await bot.escalate(JAMIE, ticket=own.ticket_ref)
        ts = await bot.card_ts(handoff.id)
        assert (await bot.press(DANA, "pickup", handoff.id, ts)).status == 200
        await eventually(lambda: own.fake.tickets[TICKET_ID].owner == OWNER["connectwise"])
        assert own.fake.ticket_updates == [OWNER_CHANGE["connectwise"]]

        # Unticked again: the next pick-up writes its note and leaves the owner alone.
        view = await open_psa(bot, ALEX)
        unticked = {"psa_assign": {"assign": {"type": "checkboxes", "selected_options": []}}}
        assert (await submit_psa(bot, ALEX, view, {**cw_values(own.fake.url, private=""), **unticked}))[
            "response_action"] == "update"
        assert "initial_options" not in field(await open_psa(bot, ALEX), "assign")["element"]
        second = await bot.escalate(JAMIE, ticket=own.ticket_ref)
        ts = await bot.card_ts(second.id)
        assert (await bot.press(DANA, "pickup", second.id, ts)).status == 200
        await eventually(lambda: len([n for n in own.fake.notes(TICKET_ID) if n.startswith("Picked up")]) == 2)
        await bot.settled()
        assert own.fake.ticket_updates == [OWNER_CHANGE["connectwise"]], "no second owner change"


def assign_box(home_view) -> dict:
    return next(e for b in home_view["blocks"] if b.get("block_id") == "handoff_psa_assign" for e in b["elements"])


async def tick(bot, actor, box, *, on: bool) -> str:
    """App Home's ticket-owner checkbox ticked (or unticked) -> what the modal it opens says."""
    before = len(bot.fake.calls_to("views.open"))
    await click(bot, actor, "handoff_psa_assign", {"id": "V-HOME", "type": "home"}, block_id="handoff_psa_assign",
                ticked=box["options"] if on else [])
    await eventually(lambda: len(bot.fake.calls_to("views.open")) > before)
    await bot.listeners_done()
    return card_text(bot.fake.calls_to("views.open")[-1].args["view"]).strip()


async def test_on_the_environments_connection_an_admin_switches_assignment_without_credentials(db):
    """HANDOFF_PSA=connectwise, HANDOFF_PSA_ASSIGN off, no HANDOFF_SECRET_KEY: App Home's checkbox turns it on for
    this workspace (nothing stored but the switch), pick-up then assigns; unticked, it stops; nobody else can."""
    async with psa_rig("connectwise") as env, running_bot(db.url, psa_retry_base_s=0.05, **env.env) as bot:
        await admin_bot(bot)
        bot.fake.add_user(DANA.user_id, DANA.name, team_id="T-ACME", email=DANA_EMAIL)
        env.fake.add_member(DANA_EMAIL, MEMBER)
        shown = await home(bot, ALEX)
        assert "Ticket owner: *off* — picking up leaves the ticket's owner as it is (the server's default, " \
               "HANDOFF_PSA_ASSIGN)." in card_text(shown)
        box = assign_box(shown)
        assert "initial_options" not in box and box["options"][0]["text"]["text"] == psa_messages.ASSIGN_LABEL

        said = await tick(bot, JAMIE, box, on=True)  # not an admin
        assert "Only a Handoff admin" in said
        said = await tick(bot, ALEX, box, on=True)
        assert paragraphs_mrkdwn(psa_messages.assign_set(PsaStatus("connectwise", assign=True))) in said
        shown = await home(bot, ALEX)
        assert assign_box(shown).get("initial_options") == box["options"]
        assert "Ticket owner: *on* — the senior who picks up becomes the ticket's owner (this workspace's choice)." \
            in card_text(shown)
        assert await stored_row(bot) == [], "the environment's credentials are not copied into the database"
        assert [(e["kind"], e["data"]) for e in await all_events(bot) if e["kind"] == "psa_assign_set"] == [
            ("psa_assign_set", {"assign": True})]

        handoff = await bot.escalate(JAMIE, ticket=env.ticket_ref)
        ts = await bot.card_ts(handoff.id)
        assert (await bot.press(DANA, "pickup", handoff.id, ts)).status == 200
        await eventually(lambda: env.fake.tickets[TICKET_ID].owner == OWNER["connectwise"], timeout_s=15)
        await bot.settled()
        assert env.fake.ticket_updates == [OWNER_CHANGE["connectwise"]]

        said = await tick(bot, ALEX, box, on=False)
        assert paragraphs_mrkdwn(psa_messages.assign_set(PsaStatus("connectwise", assign=False))) in said
        assert "initial_options" not in assign_box(await home(bot, ALEX))
        second = await bot.escalate(JAMIE, ticket=env.ticket_ref)
        ts = await bot.card_ts(second.id)
        assert (await bot.press(DANA, "pickup", second.id, ts)).status == 200
        await eventually(lambda: len([n for n in env.fake.notes(TICKET_ID) if n.startswith("Picked up")]) == 2,
                         timeout_s=15)
        await bot.settled()
        assert env.fake.ticket_updates == [OWNER_CHANGE["connectwise"]], "no second owner change"
        assert env.fake.violations == []
