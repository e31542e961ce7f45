"""Adaptive Card rendering from the shared view model: escaping, mentions, labels, sizes, buttons."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cards import teams
from cards.limits import TEAMS_CARD_BYTES
from core.text import neutralize_mentions
from cards.view import build_card_view
from core.models import HandoffState, Person, Workspace
from core.snapshot import FIELD_LIMITS, Snapshot

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
JAMIE = Person(1, "29:jamie", "Jamie", "engineer")
DANA = Person(2, "29:dana", "Dana", "engineer")


def state(*, status="open", claimed_by=None, claimed_at=None, assessment=None, assessment_state="pending", **snap):
    snap.setdefault("summary", "Mail down for finance")
    return HandoffState(
        id=uuid.UUID(int=7), workspace=Workspace(1, "teams", "tenant", "Acme", "19:c"), intent="escalate",
        status=status, author=JAMIE, target=None, snapshot=Snapshot(**snap), assessment=assessment,
        assessment_state=assessment_state, claimed_by=claimed_by, claimed_at=claimed_at, first_action_at=None,
        closed_at=None, version=1, created_at=T0, escalated_at=T0, updated_at=T0,
    )


def render(s, **kw):
    return teams.escalation_card(build_card_view(s, now=T0 + timedelta(minutes=5)), **kw)


def texts(card) -> str:
    return "\n".join(b.get("text", "") for b in card["body"])


def test_open_card_has_pick_up_and_snooze_with_only_the_handoff_id():
    card = render(state())
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["actions"] == [
        {"type": "Action.Execute", "title": "Pick Up", "verb": "pickup", "data": {"handoff_id": str(uuid.UUID(int=7))},
         "style": "positive"},
        *({"type": "Action.Execute", "title": f"Snooze {label}", "verb": "snooze",
           "data": {"handoff_id": str(uuid.UUID(int=7)), "choice": key}}
          for key, label in (("30m", "30 min"), ("1h", "1 h"), ("4h", "4 h"))),
    ]
    assert "Assessing…" in texts(card) and "refresh" not in card


def test_claimed_card_names_the_owner_and_the_delay_and_gives_only_the_owner_buttons():
    s = state(status="claimed", claimed_by=DANA, claimed_at=T0 + timedelta(minutes=4))
    shared, own = render(s), render(s, owner_view=True)
    assert "✅ Picked up by **Dana** · 4 minutes after escalation" in texts(shared)
    assert shared.get("actions") is None and shared["refresh"]["userIds"] == ["29:dana"]
    assert [a["verb"] for a in own["actions"]] == ["release", "resolve"]


@pytest.mark.parametrize("assessment_state, data, shown", [
    ("ready", {"source": "model", "summary": "Expired cert", "likely_causes": ["cert"], "next_steps": ["renew"],
               "confidence": "high"}, "**Assessment**"),
    ("ready", {"source": "heuristic", "summary": "Check the connector", "note": "Model unavailable"},
     "**Assessment (fallback, not from the model)**"),
])
def test_assessment_or_labelled_fallback_replaces_the_placeholder(assessment_state, data, shown):
    card = render(state(assessment=data, assessment_state=assessment_state))
    assert shown in texts(card).replace("\\", "") and "Assessing…" not in texts(card)  # as read: escapes shown as is
    assert data["summary"] in texts(card)


def test_user_text_is_escaped_and_cannot_ping_anyone():
    card = render(state(summary="**urgent** [click](http://evil) @channel <at>Everyone</at>", notes="1. one\n- two"))
    body = texts(card)
    assert r"\*\*urgent\*\* \[click\]\(http://evil\)" in body
    assert "@channel" not in body and "<at>" not in body
    assert "1\\. one" in body and "\\- two" in body


def test_neutralize_mentions_keeps_the_words_but_pings_nobody():
    for raw, word in (("@here now", "here"), ("<!channel>", "channel"), ("<@U123>", "U123"), ("<at>Dana</at>", "Dana"), ("@everyone", "everyone")):
        out = neutralize_mentions(raw)
        assert word in out
        assert not any(token in out.lower() for token in ("<!", "<@", "<at>", "@here", "@channel", "@everyone"))


def test_the_largest_possible_card_fits_the_activity_limit():
    big = {name: "*" * limit for name, (_, limit) in FIELD_LIMITS.items() if name not in ("ticket", "domain")}
    assessment = {"source": "model", "summary": "_" * 5000, "likely_causes": ["[" * 400] * 10, "next_steps": ["#" * 400] * 10}
    card = render(state(assessment=assessment, assessment_state="ready", ticket="T" * 100, domain="D" * 100, **big))
    assert len(json.dumps(card, ensure_ascii=False).encode()) <= TEAMS_CARD_BYTES
    assert all(len(b["text"]) <= 2000 for b in card["body"] if b.get("type") == "TextBlock")


def test_dialog_keeps_values_shows_errors_and_carries_the_token():
    form = teams.escalation_form(dialog="d-1", values={"summary": "", "tried": "rebooted", "source_link": "https://x/1"},
                                 errors={"summary": "Problem summary is required."})
    by_id = {b.get("id"): b for b in form["body"]}
    assert by_id["tried"]["value"] == "rebooted" and by_id["summary"]["isRequired"] is True
    assert "Problem summary is required." in texts(form)
    assert form["actions"][0]["data"] == {"dialog": "d-1", "excerpt": "", "source_link": "https://x/1"}
    wrapped = teams.dialog_response(form)
    assert wrapped["task"]["type"] == "continue" and wrapped["task"]["value"]["card"]["content"] is form




def test_dialog_has_an_optional_people_picker_that_keeps_its_choice():
    blank = {b.get("id"): b for b in teams.escalation_form(dialog="d-1")["body"]}
    picker = blank["target"]
    assert picker["type"] == "Input.ChoiceSet" and picker["label"] == "Send to (optional)"
    assert picker["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    assert picker["isMultiSelect"] is False and picker["choices"] == [] and "value" not in picker
    assert not picker.get("isRequired")

    chosen = "6b1f7c1e-0000-4000-8000-000000000001"
    form = teams.escalation_form(dialog="d-1", values={"target": chosen}, errors={"target": "Choose someone else."})
    assert {b.get("id"): b for b in form["body"]}["target"]["value"] == chosen
    assert "Choose someone else." in texts(form)
