"""Why a PSA call failed is a code and its facts in psa/ (a PsaProblem); what admins read of it is worded once,
by cards/psa_messages.py: the card's footer on Slack and Teams, the job's trail."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from cards import psa_messages, slack, teams
from cards.teams_messages import plain_text
from cards.view import build_card_view
from core.psa_form import (
    BUSY, CONNECT_FAILED, DROPPED, HTML_PAGE, NO_SUCH, NO_TICKET, NO_TOKEN, NO_ZONE, NOT_ITS_REFERENCE, NOT_JSON,
    REDIRECTED, REFUSED, REJECTED, TIMED_OUT, PsaProblem, PsaTestResult,
)
from psa.http import PsaRejected
from tests.cards.test_slack import T0, all_text
from tests.cards.test_slack import state as card_state
from tests.factories import escalated
from tests.psa.notes_rig import notes_rig
from tests.psa.rigs import psa_rig

SAID = [
    (PsaProblem("ConnectWise", REJECTED, status=401), "ConnectWise rejected the credentials (401)"),
    (PsaProblem("Halo", NO_SUCH, status=404, what="agent"), "Halo has no such agent (404)"),
    (PsaProblem("Halo", REDIRECTED, status=302), "Halo answered a redirect (302) instead of JSON: check the API URL"),
    (PsaProblem("Autotask", HTML_PAGE, status=200),
     "Autotask answered an HTML page instead of JSON (200): check the API URL"),
    (PsaProblem("Halo", NOT_JSON, status=200), "Halo answered something that is not JSON (200)"),
    (PsaProblem("ConnectWise", REFUSED, status=400, what="ticket", detail="Board is closed"),
     "ConnectWise refused the ticket (400): Board is closed"),
    (PsaProblem("ConnectWise", REFUSED, status=409, what="ticket"), "ConnectWise refused the ticket (409)"),
    (PsaProblem("Autotask", NO_ZONE, what="API user"), "Autotask zone discovery found no zone for the API user"),
    (PsaProblem("Halo", NO_TOKEN, what="token"), "Halo issued no access token"),
    (PsaProblem("Halo", NOT_ITS_REFERENCE, detail="INC-42"), "ticket reference 'INC-42' is not a Halo ticket"),
    (PsaProblem("Halo", NO_TICKET, status=404, detail="4242"), "Halo has no ticket 4242 (404)"),
    (PsaProblem("Halo", BUSY, status=503), "Couldn't reach Halo (it answered 503)"),
    (PsaProblem("Halo", TIMED_OUT, seconds=10.0), "Couldn't reach Halo (no answer within 10s)"),
    (PsaProblem("Halo", DROPPED, detail="ServerDisconnectedError"),
     "Couldn't reach Halo (connection dropped: ServerDisconnectedError)"),
    (PsaProblem("Halo", CONNECT_FAILED, detail="ClientConnectorError"), "Couldn't reach Halo (ClientConnectorError)"),
]


@pytest.mark.parametrize("problem, said", SAID)
def test_each_problem_is_worded_once(problem, said):
    assert psa_messages.psa_problem(problem) == said


def footers(notice: str) -> tuple[str, str]:
    """The card's footer line as read on Slack and on Teams."""
    view = build_card_view(card_state(notice=notice), now=T0)
    on_slack = [t for _, t in all_text(slack.card_message(view)["blocks"]) if t.startswith("⚠️")]
    on_teams = [b["text"] for b in teams.escalation_card(view)["body"] if b.get("text", "").startswith("⚠️")]
    return on_slack[0].replace("&amp;", "&"), on_teams[0].replace("\\", "")


async def test_autotask_names_no_zone_for_the_api_user():
    async with psa_rig("autotask") as rig, aiohttp.ClientSession() as session:
        rig.fake.zone_missing = True
        client = rig.connection().client(session, timeout_s=2.0, cache={})
        with pytest.raises(PsaRejected) as error:
            await client.find_ticket(client.parse_ref(rig.ticket_ref))
        assert error.value.problem == PsaProblem("Autotask", NO_ZONE, what="API user")
        assert str(error.value) == "Autotask zone discovery found no zone for the API user"


async def test_halo_issues_no_token_the_note_stops_and_both_cards_say_why(pg_db):
    async with psa_rig("halo") as rig, notes_rig(pg_db, rig.connection()) as r:
        rig.fake.token_missing = True
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.drain()
        failed = [e["data"]["error"] for e in await r.handoffs.events(h.id) if e["kind"] == "psa_note_failed"]
        assert failed and set(failed) == {"Halo issued no access token"}  # the trail, in the same words
        notice = (await r.handoffs.load(h.id)).notice
    assert footers(notice) == ("⚠️ PSA notes stopped: Halo issued no access token",) * 2
    assert rig.fake.all_notes() == []


async def test_a_saved_connection_this_server_cannot_read_stops_the_notes_and_both_cards_say_what_to_do(pg_db, caplog):
    from cryptography.fernet import Fernet

    from psa.connection import Vault
    from tests.factories import ACME

    caplog.set_level(logging.WARNING, logger="handoff.psa")  # whatever an earlier test left the level at
    async with psa_rig("halo") as rig, notes_rig(pg_db) as r:
        ws = await r.handoffs.register_workspace(ACME, channel="C-ESCALATIONS")
        await r.directory.save(workspace_id=ws.id, connection=rig.connection())
        r.directory.vault = Vault(Fernet.generate_key().decode())  # the server restarted with another key
        h = await escalated(r.handoffs, ticket=rig.ticket_ref)
        await r.drain()
        notice = (await r.handoffs.load(h.id)).notice
    said = ("⚠️ PSA notes stopped: the saved PSA credentials can't be read with this server's HANDOFF_SECRET_KEY "
            "(not set, or another key): an admin enters them again and saves")
    assert footers(notice) == (said, said)
    assert "cannot be read with this HANDOFF_SECRET_KEY" in caplog.text  # the exact cause, for whoever runs it
    assert rig.fake.all_notes() == []


def test_a_refused_settings_test_names_the_psa_once():
    detail = psa_messages.psa_problem(PsaProblem("Halo", HTML_PAGE, status=200))
    said = plain_text(psa_messages.test_result(PsaTestResult("refused", "halo", status=200, detail=detail)))
    assert said == ("The PSA connection does not work: Halo answered an HTML page instead of JSON (200): "
                    "check the API URL.")
