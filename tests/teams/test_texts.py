"""What Handoff says in Teams: every refusal says what happened and what to do next; nothing pings anyone."""

from __future__ import annotations

import re
import typing

import pytest

from bot.teams import texts
from core.models import Person, RefusalReason

ALEX = Person(1, "29:alex", "Alex Admin", "admin")
NEXT_STEP = re.compile(r"\b(ask|say|use|pick it up|press|choose|try again)\b", re.IGNORECASE)


def has_next_step(text: str) -> bool:
    return NEXT_STEP.search(text) is not None


@pytest.mark.parametrize("reason", typing.get_args(RefusalReason))
def test_every_card_refusal_says_what_to_do(reason):
    text = texts.refusal(reason, owner="Dana", admins=[ALEX])
    assert text != texts.refusal("something new", owner=None, admins=[]), "each known reason has its own words"
    assert has_next_step(text), text


DEAD_END_CANDIDATES = {
    "card invalid": texts.CARD_INVALID,
    "button unsupported": texts.BUTTON_UNSUPPORTED,
    "not in a channel": texts.NOT_IN_A_CHANNEL,
    "channel: admins only": texts.channel_admins_only([ALEX]),
    "roles: admins only": texts.roles_admins_only([ALEX]),
    "role: how": texts.ROLE_HOW,
    "no channel": texts.no_channel([ALEX]),
    "no channel, no admin": texts.no_channel([]),
    "fix fields": texts.FIX_FIELDS,
    "target not a person": texts.TARGET_NOT_A_PERSON,
    "target is you": texts.TARGET_IS_YOU,
    "unknown organisation": texts.UNKNOWN_ORGANISATION,
    "notify in thread": texts.notify_reply(author="Jamie"),
    "notify direct": texts.notify_direct(author="Jamie", title="Mail down"),
}


@pytest.mark.parametrize("case", list(DEAD_END_CANDIDATES))
def test_no_answer_is_a_dead_end(case):
    assert has_next_step(DEAD_END_CANDIDATES[case]), DEAD_END_CANDIDATES[case]


def test_refusals_name_who_can_help():
    assert "Ask a Handoff admin (Alex Admin) for the engineer role." in texts.refusal("viewer", owner=None, admins=[ALEX])
    assert "(Dana)" in texts.refusal("not_owner", owner="Dana", admins=[])
    many = [Person(i, f"29:{i}", f"Admin {i}", "admin") for i in range(5)]
    assert "(Admin 0, Admin 1, Admin 2 and 2 more)" in texts.ask_an_admin(many)
    assert "whoever first says" in texts.ask_an_admin([]), "with no admin yet, how one comes about"


def test_names_quoted_in_texts_ping_nobody():
    sneaky = Person(2, "29:x", "<at>everyone</at> @channel", "admin")
    for text in (texts.channel_admins_only([sneaky]), texts.role_set([sneaky], "admin"),
                 texts.conflict_reply(winner=sneaky.display_name, when="just now")):
        assert "<at>" not in text and "@channel" not in text


def test_role_wording():
    carol, sam = Person(3, "29:c", "Carol", "viewer"), Person(4, "29:s", "Sam", "viewer")
    assert texts.role_set([carol], "engineer") == "Done: Carol is now an engineer."
    assert texts.role_set([carol, sam], "viewer") == "Done: Carol, Sam are now viewers."
    assert texts.conflict_reply(winner="Dana", when="3 minutes ago") == "Already claimed by Dana 3 minutes ago."
