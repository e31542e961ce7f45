"""The card's own lines (status, assessment) say the same on Slack and Teams, in every state.

Both renderers draw them from cards/view.py; each only renders a name (Slack: the user's mention; Teams: the
name in bold) and a time (Slack: <!date^…> in the reader's zone; Teams: TIME() in the reader's zone) its own
way. Here each card is read as a person reads it (mentions as names, times as the instant they show, markup
and escapes gone) and the two must match, word for word and in the same order.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cards import slack, teams
from cards.view import build_card_view
from tests.cards.card_lines import read, slack_lines, teams_lines, when
from tests.cards.test_slack import T0, person, state

DANA = person("U2DANA", "Dana <b>", 2)  # a name with markup in it: shown literally on both
NOW = T0 + timedelta(minutes=40)
CLAIMED = dict(status="claimed", claimed_by=DANA, claimed_at=T0 + timedelta(minutes=4), version=3)
UNTIL = T0 + timedelta(hours=1, minutes=10)
MODEL = {"source": "model", "summary": "Connector cert expired", "likely_causes": ["Expired TLS cert"],
         "confidence": "high", "next_steps": ["Renew the cert"]}

# state -> (overrides, the status line as a person reads it; {until} is the snooze's end in their time)
STATES = {
    "claimed, with the delay": (CLAIMED, "✅ Picked up by Dana <b> · 4 minutes after escalation"),
    "overdue": (dict(overdue_at=T0 + timedelta(minutes=30)),
                "⏰ Overdue · unclaimed for 30 min · the first to press Pick Up owns it"),
    "snoozed": (dict(snoozed_until=UNTIL),
                "🙋 Waiting for pick-up: the first to press Pick Up owns it · 🔕 reminders snoozed until {until}"),
    "overdue and snoozed": (dict(overdue_at=T0 + timedelta(minutes=30), snoozed_until=UNTIL),
                            "⏰ Overdue · unclaimed for 30 min · the first to press Pick Up owns it"
                            " · 🔕 reminders snoozed until {until}"),
    "snooze ended": (dict(snoozed_until=NOW - timedelta(seconds=1)),
                     "🙋 Waiting for pick-up: the first to press Pick Up owns it"),
    "released (open again)": (dict(reminders_from=T0 + timedelta(minutes=20), version=4),
                              "🙋 Waiting for pick-up: the first to press Pick Up owns it"),
    "resolved": ({**CLAIMED, "status": "resolved", "closed_at": T0 + timedelta(minutes=30)}, "🏁 Resolved by Dana <b>"),
    "cancelled": (dict(status="cancelled"), "✖️ Cancelled by the author"),
}

# assessment -> (overrides, its heading as read, the "updated" line as read or None)
ASSESSMENTS = {
    "pending": (dict(), "⏳ Assessment: Assessing…", None),
    "from the model": (dict(assessment=MODEL, assessment_state="ready"), "🤖 Assessment · confidence high", None),
    "fallback": (dict(assessment={"source": "heuristic", "summary": "Check the connector", "note": "Model down"},
                      assessment_state="ready"), "📋 Assessment (fallback, not from the model)", None),
    "the model's answer replaced the fallback": (
        dict(assessment={**MODEL, "replaced_fallback_at": (T0 + timedelta(minutes=2)).isoformat()},
             assessment_state="ready"),
        "🤖 Assessment · confidence high",
        "Updated at {updated}: the model's assessment replaced the fallback."),
}


def lines(overrides: dict) -> tuple[dict[str, str], dict[str, str]]:
    """Each platform's card lines that cards/view.py words, by name, as read."""
    view = build_card_view(state(**overrides), now=NOW)
    people = {"U1JAMIE": "Jamie", DANA.external_id: DANA.display_name}
    return slack_lines(slack.card_message(view)["blocks"], people), teams_lines(teams.escalation_card(view))


@pytest.mark.parametrize("name", STATES)
def test_the_status_line_is_the_same_on_both_cards(name):
    overrides, expected = STATES[name]
    on_slack, on_teams = lines(overrides)
    assert on_slack["status"] == on_teams["status"] == expected.format(until=when(UNTIL))
    assert read(build_card_view(state(**overrides), now=NOW).status_line) == on_slack["status"]


@pytest.mark.parametrize("name", ASSESSMENTS)
def test_the_assessment_lines_are_the_same_on_both_cards(name):
    overrides, heading, updated = ASSESSMENTS[name]
    on_slack, on_teams = lines(overrides)
    assert on_slack == on_teams
    assert on_slack["assessment"] == heading
    assert on_slack.get("updated") == (updated and updated.format(updated=when(T0 + timedelta(minutes=2))))


def test_a_name_is_a_mention_on_slack_and_bold_on_teams_and_a_time_the_readers_own():
    view = build_card_view(state(**CLAIMED), now=NOW)
    [slack_status] = [b for b in slack.card_message(view)["blocks"] if b.get("block_id") == slack.STATUS_BLOCK_ID]
    [teams_status] = [b for b in teams.escalation_card(view)["body"] if b.get("id") == teams.STATUS_BLOCK_ID]
    assert slack_status["elements"][0]["text"] == "✅ Picked up by <@U2DANA> · 4 minutes after escalation"
    assert teams_status["text"] == r"✅ Picked up by **Dana <b\>** · 4 minutes after escalation"
    snoozed = build_card_view(state(snoozed_until=UNTIL), now=NOW)
    [slack_status] = [b for b in slack.card_message(snoozed)["blocks"] if b.get("block_id") == slack.STATUS_BLOCK_ID]
    [teams_status] = [b for b in teams.escalation_card(snoozed)["body"] if b.get("id") == teams.STATUS_BLOCK_ID]
    assert slack_status["elements"][0]["text"].endswith(f"until <!date^{int(UNTIL.timestamp())}^{{time}}|10:10 UTC>")
    assert teams_status["text"].endswith("until {{TIME(2025-03-04T10:10:00Z)}}")

