"""A message's buttons (the reminder nudge's Pick Up and Snooze), decided once in cards/ and drawn by each
platform: Slack as an actions block under the text, Teams as an Adaptive Card with the card's own actions.
And what a nudge's clicker sees in its place (Teams answers a click with the message clicked)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from cards import reminder_messages, slack_messages, teams_messages
from cards.messages import Mention, Message, conflict_notice
from cards.teams_messages import MESSAGE_FIELD
from cards.view import person_view
from core.models import AlreadyYours, Done, Lost, Snoozed, Won
from tests.cards.test_teams_cards import DANA, T0, state

HANDOFF = str(state().id)


def slack_buttons(message: Message) -> list[tuple[str, str, list[str]]]:
    """(action id, label, option values) of each element of the Slack rendering's actions blocks."""
    blocks = slack_messages.render(message).get("blocks", [])
    return [(e["action_id"], (e.get("text") or e.get("placeholder"))["text"], [o["value"] for o in e.get("options", [])])
            for b in blocks if b["type"] == "actions" for e in b["elements"]]


def teams_actions(message: Message) -> list[tuple[str, str, dict]]:
    return [(a["verb"], a["title"], a["data"]) for a in teams_messages.card(message).get("actions", [])]


def test_the_nudge_has_pick_up_and_snooze_on_both_platforms():
    nudge = reminder_messages.nudge(state(), step=1, of=3, waited_s=600)
    assert slack_buttons(nudge) == [
        ("handoff_pickup", "Pick Up", []),
        ("handoff_snooze", "Snooze…", [f"{HANDOFF}|30m", f"{HANDOFF}|1h", f"{HANDOFF}|4h"])]
    marker = {MESSAGE_FIELD: "reminder.nudge"}
    assert teams_actions(nudge) == [
        ("pickup", "Pick Up", {"handoff_id": HANDOFF, **marker}),
        ("snooze", "Snooze 30 min", {"handoff_id": HANDOFF, "choice": "30m", **marker}),
        ("snooze", "Snooze 1 h", {"handoff_id": HANDOFF, "choice": "1h", **marker}),
        ("snooze", "Snooze 4 h", {"handoff_id": HANDOFF, "choice": "4h", **marker})]
    card = teams_messages.card(nudge)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert all(a["type"] == "Action.Execute" for a in card["actions"])
    assert [b["text"] for b in card["body"]] == teams_messages.chat(nudge).text.split("\n\n")
    assert teams_messages.summary(nudge).startswith("⏰ Still waiting for pick-up: escalated 10 minutes ago.")


def test_a_card_message_pings_only_whom_it_mentions_and_quotes_nobody():
    hostile = person_view(dataclasses.replace(DANA, display_name="<at>everyone</at> Dana"))
    message = Message("test.buttons", ((Mention(hostile), " look: <at>Team</at> @here"),),
                      buttons=reminder_messages.nudge_buttons(state()))
    card = teams_messages.card(message)
    [entity] = card["msteams"]["entities"]
    assert entity["mentioned"]["id"] == "29:dana" and entity["text"] in card["body"][0]["text"]
    assert card["body"][0]["text"].count("<at>") == 1, "only the mention entity's own tag"
    named = teams_messages.card(message, mentions=False)  # a direct message to someone else: named, not pinged
    assert "msteams" not in named and "<at>" not in named["body"][0]["text"]


def test_messages_without_buttons_stay_plain_chat_text():
    direct = [reminder_messages.reminder_message(state(), kind, {"waited_s": 60, "idle_s": 60}, now=T0)
              for kind in reminder_messages.DIRECT_KINDS]
    assert all(not m.buttons for m in direct)
    assert "actions" not in teams_messages.card(direct[0])


CLAIMED = state(status="claimed", claimed_by=DANA, claimed_at=T0)
NOW = T0 + timedelta(seconds=12)


@pytest.mark.parametrize("outcome, said, buttons", [
    (Won(CLAIMED), "✅ Picked up by Dana, 12 s ago.", []),
    (Lost(CLAIMED, winner=DANA, claimed_at=T0), "Already claimed by Dana, 12 s ago.", []),
    (AlreadyYours(CLAIMED), "This one is already yours.", []),
    (Snoozed(state(), until=T0 + timedelta(minutes=30)),
     "🔕 Reminders for this escalation are snoozed until 09:30 UTC.", ["pickup", "snooze", "snooze", "snooze"]),
    (Done(state(status="resolved", claimed_by=None)), "This escalation is now: Resolved.", []),
])
def test_what_a_nudges_clicker_sees_in_its_place(outcome, said, buttons):
    message = reminder_messages.nudge_clicked(outcome, now=NOW)
    assert teams_messages.plain_text(message).startswith(said)
    assert [verb for verb, _, _ in teams_actions(message)] == buttons


def test_the_loser_is_told_in_the_nudges_place_what_slack_tells_them_privately():
    lost = Lost(CLAIMED, winner=DANA, claimed_at=T0)
    assert reminder_messages.nudge_clicked(lost, now=NOW) == conflict_notice(winner=DANA, claimed_at=T0, now=NOW)
    snoozed = reminder_messages.nudge_clicked(Snoozed(state(), until=T0 + timedelta(hours=1)), now=NOW)
    assert snoozed.paragraphs == reminder_messages.snoozed(state(), until=T0 + timedelta(hours=1)).paragraphs
