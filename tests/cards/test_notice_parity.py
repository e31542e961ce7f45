"""An integration's footer line (why PSA notes stopped) shows on both platforms' cards, escaped."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from cards import psa_messages, teams
from cards import slack as slack_cards
from cards.slack import card_message
from cards.view import build_card_view
from tests.cards.test_slack import T0, all_text
from tests.cards.test_slack import state as slack_state
from tests.cards.test_teams_cards import state as teams_state
from tests.cards.test_teams_cards import texts

NOTICE = psa_messages.notice(psa_messages.NOTES_STOPPED, "ConnectWise rejected the credentials (401) <!channel>")


@pytest.mark.parametrize("notice", [None, NOTICE])
def test_the_notice_is_on_the_slack_and_teams_card(notice):
    slack = card_message(build_card_view(slack_state(notice=notice), now=T0 + timedelta(minutes=1)))
    team = teams.escalation_card(build_card_view(dataclasses.replace(teams_state(), notice=notice), now=T0))
    slack_text = "\n".join(t for _, t in all_text(slack["blocks"]))
    shown = "PSA notes stopped: ConnectWise rejected the credentials"
    assert (shown in slack_text) == (shown in texts(team)) == (notice is not None)
    assert "<!channel>" not in slack_text


@pytest.mark.parametrize("stored, said", [
    (psa_messages.notice(psa_messages.NO_EMAILS, "users:read.email"), "PSA ticket not assigned: Handoff may not see"),
    (psa_messages.notice(psa_messages.ASSIGN_STOPPED, "Halo rejected the credentials (403)"),
     "PSA ticket assignment stopped: Halo rejected the credentials (403)"),
    ("PSA notes stopped: Autotask answered 418", "PSA notes stopped: Autotask answered 418"),  # stored already worded
])
def test_each_psa_notice_is_said_once_in_each_platforms_phrases(stored, said):
    slack = card_message(build_card_view(slack_state(notice=stored), now=T0 + timedelta(minutes=1)))
    team = teams.escalation_card(build_card_view(dataclasses.replace(teams_state(), notice=stored), now=T0))
    slack_text = "\n".join(t for _, t in all_text(slack["blocks"]))
    view, team_text = psa_messages.card_notice(stored), texts(team).replace("\\", "")  # Teams' markdown escapes
    assert said in slack_text and said in team_text
    if view.kind == "psa.no_emails":  # the fix, in each platform's own words (their phrase tables)
        assert slack_cards.HINTS["allow_emails"] in slack_text and "users:read.email" in slack_text
        assert teams.HINTS["allow_emails"] in team_text and "users:read" not in team_text


@pytest.mark.parametrize("status, shown", [("checked", "4242 · Mail flow broken (Contoso Ltd)"),
                                           ("not_checked", "4242 (ticket not checked)"), ("", "4242")])
def test_the_checked_ticket_is_on_both_cards(status, shown):
    snap = dict(ticket="4242", ticket_status=status, ticket_title="Mail flow broken", ticket_company="Contoso Ltd")
    slack_snapshot = dataclasses.replace(slack_state().snapshot, **snap)
    slack = card_message(build_card_view(slack_state(snapshot=slack_snapshot), now=T0))
    team = teams.escalation_card(build_card_view(teams_state(**snap), now=T0))
    slack_text = "\n".join(t for _, t in all_text(slack["blocks"]))
    facts = " ".join(f["value"] for b in team["body"] if b.get("type") == "FactSet" for f in b["facts"])
    assert shown in slack_text.replace("&lt;", "<")
    assert shown in facts.replace("\\", "")
