"""Everything the bot says, decided once (cards.messages) and rendered for Slack and Teams.

Table-driven over every builder: each message says what happened and what to do next on both platforms,
the two renderings carry the same words, names quoted in them ping nobody, and hostile or control
characters never come out the other end.
"""

from __future__ import annotations

import re
import typing
from dataclasses import replace
from datetime import timedelta

import pytest

from cards import admin_messages, messages, slack_messages, teams_messages
from cards.messages import HINTS, Message
from core.models import Person, Refused, RefusalReason
from tests.cards.test_slack import T0, person, state

ALEX = Person(9, "U9ALEX", "Alex Admin", "admin")
DANA = person("U2DANA", "Dana", 2)
CAROL = person("U3CAROL", "Carol", 3)
NOW = T0 + timedelta(minutes=5)
NEXT_STEP = re.compile(r"\b(ask|say|run|use|pick it up|press|choose|try again|resolve|release|set|give)\b", re.I)
HOSTILE = "<!channel> <at>everyone</at> @here \u202e\x00evil"


def claimed(**overrides):
    values = dict(status="claimed", claimed_by=DANA, claimed_at=T0 + timedelta(minutes=4), version=2)
    return state(**{**values, **overrides})


ANSWERS: dict[str, Message] = {
    "not found": messages.not_found(),
    "button unsupported": messages.button_unsupported(),
    "already yours": messages.already_yours(),
    "no channel": messages.no_channel([ALEX]),
    "no channel, no admin": messages.no_channel([]),
    "save failed": messages.save_failed(),
    "fix fields": messages.fix_fields(),
    "target not a person": messages.target_not_a_person(),
    "target is you": messages.target_is_you(),
    "unknown organisation": messages.unknown_organisation(),
    "target in thread": messages.target_in_thread(state(), target=DANA),
    "target notice": messages.target_notice(state(), now=NOW),
    "channel: admins only": admin_messages.channel_admins_only([ALEX]),
    "roles: admins only": admin_messages.roles_admins_only([ALEX]),
    "role: how": admin_messages.role_how(),
    "not in a channel": admin_messages.not_in_a_channel(),
    "help": admin_messages.help_text(),
    "bot not in the channel": admin_messages.not_in_channel("C1HELP"),
}
STATES_FOR = {"not_owner": claimed(), "not_open": state(status="resolved"), "not_author": state(intent="park")}


def both(message: Message) -> tuple[str, str]:
    return slack_messages.render(message)["text"], teams_messages.plain_text(message)


@pytest.mark.parametrize("reason", typing.get_args(RefusalReason))
def test_every_refusal_has_its_own_words_and_a_next_step(reason):
    message = messages.refusal(Refused(reason, STATES_FOR.get(reason, state())), admins=[ALEX])
    others = {messages.refusal(Refused(r, STATES_FOR.get(r, state()))).kind
              for r in typing.get_args(RefusalReason) if r != reason}
    assert message.kind not in others, "each reason has its own message"
    for text in both(message):
        assert NEXT_STEP.search(text), text


@pytest.mark.parametrize("case", list(ANSWERS))
def test_no_answer_is_a_dead_end_on_either_platform(case):
    for text in both(ANSWERS[case]):
        assert NEXT_STEP.search(text), text


def test_every_hint_has_words_on_both_platforms():
    assert set(slack_messages.HINTS) == set(teams_messages.HINTS) == set(HINTS)


def test_the_two_platforms_say_the_same_words():
    """Only markup, mentions and the platform's own how-to phrases differ."""
    message = messages.refusal(Refused("not_owner", claimed()))
    slack, teams = both(message)
    assert teams == ("Only the engineer who picked this up (Dana) can release or resolve it. Ask them in the "
                     "card's thread, or pick it up yourself once they release it.")
    assert slack == teams
    closed = both(messages.refusal(Refused("not_open", state(status="resolved"))))
    assert closed[0].endswith("If the problem is back, run `/escalate`.")
    assert closed[1].endswith('If the problem is back, say "escalate" to Handoff in a chat.')


def test_setting_the_channel_says_where_and_what_the_first_admin_can_do():
    first = admin_messages.channel_set(first_admin=True, channel="C1HELP")
    slack, teams = both(first)
    assert slack.startswith("Done: escalation cards will be posted in <#C1HELP>. You are the first Handoff admin here")
    assert slack.endswith("run `/escalate role @name engineer` (or viewer, or admin).")
    assert teams.startswith("Done: escalation cards will be posted in the escalation channel. You are the first")
    here = admin_messages.channel_set(first_admin=False)
    assert both(here) == ("Done: escalation cards will be posted in this channel.",) * 2
    saved = admin_messages.settings_saved([first, admin_messages.role_set([DANA], "viewer")])
    assert [m.kind for m in (saved,)] == ["settings.saved"] and len(saved.paragraphs) == 2
    assert "Dana is now a viewer" in slack_messages.render(saved)["text"]
    assert both(admin_messages.settings_saved([]))[0] == "Nothing to change."
    assert both(admin_messages.not_in_channel("C1HELP"))[0] == (
        "I'm not in <#C1HELP> yet, so I can't post escalation cards there. Run `/invite @Handoff` in that channel, "
        "then escalations will arrive there.")


def test_loser_hears_who_won_and_how_long_ago():
    notice = messages.conflict_notice(winner=DANA, claimed_at=NOW - timedelta(seconds=12), now=NOW)
    assert both(notice) == ("Already claimed by Dana, 12 s ago.", "Already claimed by Dana, 12 s ago.")
    later = messages.conflict_notice(winner=DANA, claimed_at=NOW - timedelta(minutes=3), now=NOW)
    assert teams_messages.plain_text(later) == "Already claimed by Dana, 3 minutes ago."
    unknown = messages.conflict_notice(winner=DANA, claimed_at=None, now=NOW)
    assert teams_messages.plain_text(unknown) == "Already claimed by Dana.", "one fallback on both platforms"


def test_the_thread_record_names_loser_and_winner_and_pings_neither():
    record = messages.conflict_record(loser=CAROL, winner=replace(DANA, display_name="Dana <!here>"),
                                      claimed_at=NOW - timedelta(seconds=3), now=NOW)
    slack = slack_messages.render(record)["text"]
    assert slack == "Carol tried to pick this up too: already claimed by Dana &lt;!here&gt;, 3 s ago."
    said = teams_messages.chat(record)
    assert said.mentions == () and "<at>" not in said.text


def test_checklist_is_the_assessments_steps_on_both_platforms():
    with_steps = claimed(assessment={"summary": "s", "next_steps": ["Check MX", "Renew <cert>"]}, assessment_state="ready")
    message = messages.checklist(with_steps, owner=DANA, now=NOW)
    slack = slack_messages.render(message)
    items = [e["elements"][0]["text"] for b in slack["blocks"] if b["type"] == "rich_text"
             for el in b["elements"] if el["type"] == "rich_text_list" for e in el["elements"]]
    assert items == ["☐ Check MX", "☐ Renew <cert>"]
    assert slack["text"].startswith("<@U2DANA> picked this up") and "&lt;cert&gt;" in slack["text"]
    teams = teams_messages.chat(message)
    assert teams.text.startswith("<at>Dana</at> picked this up. Your checklist:")
    assert "- ☐ Check MX\n- ☐ Renew <cert\\>" in teams.text
    assert [p.external_id for p, _ in teams.mentions] == ["U2DANA"]


def test_checklist_without_steps_offers_the_usual_first_moves():
    message = messages.checklist(claimed(assessment_state="failed"), owner=DANA, now=NOW)
    assert message.items[0] == "Tell Jamie in this thread that you have it"
    assert any("usual first moves" in note for note in message.footnotes)


@pytest.mark.parametrize("message", [
    messages.conflict_notice(winner=person("U5", HOSTILE), claimed_at=T0, now=NOW),
    messages.conflict_record(loser=person("U6", HOSTILE), winner=person("U5", HOSTILE), claimed_at=T0, now=NOW),
    messages.refusal(Refused("not_owner", claimed(claimed_by=person("U5", HOSTILE)))),
    messages.checklist(claimed(assessment={"next_steps": [HOSTILE]}, assessment_state="ready"), owner=DANA, now=NOW),
    messages.target_notice(state(snapshot=replace(state().snapshot, summary=HOSTILE)), now=NOW),
    admin_messages.role_set([person("U7", HOSTILE)], "admin"),
], ids=lambda m: m.kind)
def test_hostile_names_and_text_ping_nobody_and_lose_control_characters(message):
    slack = slack_messages.render(message)
    teams = teams_messages.chat(message)
    for text in (str(slack), teams.text, teams_messages.plain_text(message)):
        assert "<!channel>" not in text and "<at>everyone" not in text and "@here" not in text
        assert "\u202e" not in text and "\x00" not in text


def test_a_person_with_no_name_is_someone():
    nameless = person("29:x", "")
    assert teams_messages.plain_text(messages.conflict_notice(winner=nameless, claimed_at=None, now=NOW)) == \
        "Already claimed by someone."


def test_admin_lists_are_short_and_say_how_the_first_admin_comes_about():
    many = [Person(i, f"U{i}", f"Admin {i}", "admin") for i in range(5)]
    assert "(Admin 0, Admin 1, Admin 2 and 2 more)" in teams_messages.plain_text(admin_messages.roles_admins_only(many))
    assert "there is none yet" in teams_messages.plain_text(messages.no_channel([]))
    carol, sam = Person(3, "29:c", "Carol", "viewer"), Person(4, "29:s", "Sam", "viewer")
    assert teams_messages.plain_text(admin_messages.role_set([carol], "engineer")) == "Done: Carol is now an engineer."
    assert teams_messages.plain_text(admin_messages.role_set([carol, sam], "viewer")) == "Done: Carol, Sam are now viewers."
