"""What the Teams delivery port posts for a message: chat text, or an Adaptive Card when it carries buttons
(a thread reply or a direct message alike; a Teams chat message cannot show buttons)."""

from __future__ import annotations

from bot.teams.delivery import TeamsDelivery
from cards import reminder_messages
from cards.messages import Mention, Message
from cards.teams import CARD_CONTENT_TYPE
from cards.view import person_view
from tests.cards.test_teams_cards import DANA, T0, state


def test_a_message_with_buttons_is_posted_as_a_card_with_them():
    nudge = reminder_messages.nudge(state(), step=2, of=3, waited_s=1800)
    activity = TeamsDelivery._activity_of(nudge)
    [attachment] = activity.attachments
    assert attachment.content_type == CARD_CONTENT_TYPE and not activity.text
    assert [a["verb"] for a in attachment.content["actions"]] == ["pickup", "snooze", "snooze", "snooze"]
    assert activity.summary.startswith("⏰ Still waiting for pick-up: escalated 30 minutes ago. Reminder 2 of 3.")


def test_a_direct_message_with_buttons_names_people_and_pings_nobody_else():
    message = Message("test.dm", (("For ", Mention(person_view(DANA)), "."),),
                      buttons=reminder_messages.nudge_buttons(state()))
    card = TeamsDelivery._activity_of(message, mentions=False).attachments[0].content
    assert card["body"][0]["text"] == "For Dana." and "msteams" not in card
    assert card["actions"][0]["data"]["message"] == "test.dm"


def test_a_message_without_buttons_stays_chat_text():
    direct = reminder_messages.reminder_message(state(), "overdue_admin", {"waited_s": 3600}, now=T0)
    activity = TeamsDelivery._activity_of(direct, mentions=False)
    assert activity.text.startswith("🚩 Overdue:") and not activity.attachments
