"""Slack Block Kit renderers: table-driven, on built CardViews (no database)."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from cards import limits, teams
from cards.slack import (
    block_kit_builder_url,
    card_message,
    escape_mrkdwn,
)
from cards.slack_views import ModalPrefill, escalate_modal, list_blocks
from cards.view import build_card_view
from core.models import CardRecord, HandoffState, Person, Workspace
from core.snapshot import Snapshot

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> *x* <http://a|b> @here & co"


def person(ext: str, name: str, pid: int = 1) -> Person:
    return Person(id=pid, external_id=ext, display_name=name, role="engineer")


def state(**overrides) -> HandoffState:
    values = dict(
        id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        workspace=Workspace(1, "slack", "T1", "Acme", "C-ESC"),
        intent="escalate",
        status="open",
        author=person("U1JAMIE", "Jamie"),
        target=None,
        snapshot=Snapshot(summary="Finance mailbox rejects external mail", tried="Restarted transport", urgency="high", ticket="INC-42"),
        assessment=None,
        assessment_state="pending",
        claimed_by=None,
        claimed_at=None,
        first_action_at=None,
        closed_at=None,
        version=1,
        created_at=T0,
        escalated_at=T0,
        updated_at=T0,
        card=CardRecord(1, "slack", "C-ESC", None, None, None, 0, "pending"),
    )
    values.update(overrides)
    return HandoffState(**values)


def render(**overrides):
    return card_message(build_card_view(state(**overrides), now=T0 + timedelta(minutes=5)))


def all_text(blocks) -> list[tuple[str, str]]:
    """Every (kind, text) a reader could see: mrkdwn, plain_text and rich text elements."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text", "text") and "text" in node:
                found.append((node["type"], node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def button_actions(message) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<http://a|b>", "&lt;http://a|b&gt;"),
        ("@here now", "@\u200bhere now"),
        ("mail@channelislands.com", "mail@channelislands.com"),
    ],
)
def test_escape_mrkdwn(text, expected):
    assert escape_mrkdwn(text) == expected


def test_open_card_shows_the_problem_and_pick_up():
    msg = render()
    assert msg["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "🆘 Finance mailbox rejects external mail", "emoji": True}}
    texts = [t for _, t in all_text(msg["blocks"])]
    assert "Restarted transport" in texts
    assert any("*High* urgency" in t and "<@U1JAMIE>" in t and "ticket INC-42" in t for t in texts)
    assert any("Assessing…" in t for t in texts)
    assert button_actions(msg) == ["handoff_pickup", "handoff_snooze"]
    pick = [b for b in msg["blocks"] if b["type"] == "actions"][0]["elements"][0]
    assert pick["value"] == "00000000-0000-4000-8000-000000000001"
    assert msg["text"] == "Escalation [High]: Finance mailbox rejects external mail"


def test_claimed_card_names_the_owner_and_offers_release_and_resolve():
    msg = render(status="claimed", claimed_by=person("U2DANA", "Dana", 2), claimed_at=T0 + timedelta(minutes=4), version=3)
    texts = [t for _, t in all_text(msg["blocks"])]
    assert any(t == "✅ Picked up by <@U2DANA> · 4 minutes after escalation" for t in texts)
    assert button_actions(msg) == ["handoff_release", "handoff_resolve"]
    assert "picked up by Dana" in msg["text"]


@pytest.mark.parametrize("status, expected", [("resolved", "🏁 Resolved"), ("cancelled", "✖️ Cancelled")])
def test_closed_cards_have_no_buttons(status, expected):
    msg = render(status=status)
    assert button_actions(msg) == []
    assert any(t.startswith(expected) for _, t in all_text(msg["blocks"]))


@pytest.mark.parametrize(
    "assessment_state, source, label",
    [("ready", "model", "🤖 *Assessment* · confidence high"), ("ready", "heuristic", "fallback, not from the model"), ("failed", "heuristic", "fallback")],
)
def test_assessment_section(assessment_state, source, label):
    assessment = {"summary": "Connector cert expired", "likely_causes": ["Expired TLS cert"], "confidence": "high",
                  "next_steps": ["Check the connector", "Renew the cert"], "source": source, "note": "Model unavailable"}
    msg = render(assessment_state=assessment_state, assessment=assessment)
    texts = [t for _, t in all_text(msg["blocks"])]
    assert any(label in t for t in texts)
    assert "Renew the cert" in texts and "Expired TLS cert" in texts
    assert not any("Assessing" in t for t in texts)


def test_hostile_summary_renders_inert():
    msg = render(snapshot=Snapshot(summary=HOSTILE, tried=HOSTILE, ticket="<!here>"))
    for kind, text in all_text(msg["blocks"]):
        if kind == "mrkdwn":
            assert "<!channel>" not in text and "<!here>" not in text and "<http://a" not in text
            assert "@here" not in text
    # User text travels literally in elements Slack never parses.
    assert ("text", HOSTILE) in all_text(msg["blocks"])
    assert msg["blocks"][0]["text"]["type"] == "plain_text"
    assert "<!channel>" not in msg["text"] and "<http" not in msg["text"] and "@here" not in msg["text"]


def test_everything_stays_within_block_kit_limits():
    long = "x" * 10_000
    msg = render(snapshot=Snapshot(summary=long, tried=long, notes=long, ticket="t" * 100))
    assert len(msg["blocks"]) <= limits.SLACK_MAX_BLOCKS
    assert len(msg["blocks"][0]["text"]["text"]) <= limits.SLACK_HEADER_TEXT
    assert msg["blocks"][0]["text"]["text"].endswith("…")
    for _, text in all_text(msg["blocks"]):
        assert len(text) <= limits.SLACK_SECTION_TEXT
    assert 0 < len(msg["text"]) <= limits.SLACK_FALLBACK_TEXT


def largest_escalation(**overrides) -> HandoffState:
    """Every field at the most the product accepts: the form's limits, the model's answer as stored."""
    words = lambda n: ("word " * n)[:n]  # noqa: E731
    snap = Snapshot(summary=words(2000), tried=words(3000), notes=words(3000), urgency="critical",
                    ticket=words(100), domain=words(100), source_link="https://x.slack.com/" + "a" * 980)
    assessment = {"summary": words(limits.FIELD_CHARS), "confidence": "high",
                  "likely_causes": [words(limits.LIST_ITEM_CHARS)] * limits.MAX_LIST_ITEMS,
                  "next_steps": [words(limits.LIST_ITEM_CHARS)] * limits.MAX_LIST_ITEMS}
    return state(snapshot=snap, assessment=assessment, assessment_state="ready", **overrides)


def test_the_largest_escalation_stays_within_slacks_message_text_budget():
    msg = card_message(build_card_view(largest_escalation(), now=T0))
    total = sum(len(text) for _, text in all_text(msg["blocks"]))
    assert total <= limits.SLACK_MESSAGE_TEXT, total
    sections = {b["elements"][0]["elements"][0]["text"].strip(): b["elements"][0]["elements"][1]["text"]
                for b in msg["blocks"] if b["type"] == "rich_text" and len(b["elements"][0]["elements"]) == 2}
    assert all(text.endswith("…") for text in sections.values()), "the longest sections were cut"
    lengths = {len(text) for text in sections.values()}
    assert len(lengths) == 1, "cut to one length: longest first, so nothing short was touched"
    teams_card = teams.escalation_card(build_card_view(largest_escalation(), now=T0))
    assert len(json.dumps(teams_card, ensure_ascii=False).encode()) <= limits.TEAMS_CARD_BYTES


def test_a_short_section_is_not_cut_to_make_room():
    small = largest_escalation()
    small = state(snapshot=Snapshot(summary="Short problem", tried="x" * 3000, notes="y" * 3000),
                  assessment=small.assessment, assessment_state="ready")
    view = build_card_view(small, now=T0)
    assert view.summary == "Short problem" and view.assessment.next_steps[0].endswith("word")


def test_modal_fields_map_to_snapshot_fields_and_respect_limits():
    modal = escalate_modal(ModalPrefill(summary="y" * 5000, urgency="critical"), private_metadata="m" * 4000)
    ids = [b["block_id"] for b in modal["blocks"]]
    assert ids == ["summary", "tried", "notes", "urgency", "ticket", "target", "intent"]
    summary = modal["blocks"][0]
    assert summary["optional"] is False and summary["element"]["max_length"] == 2000
    assert len(summary["element"]["initial_value"]) == 2000
    assert modal["blocks"][3]["element"]["initial_option"]["value"] == "critical"
    assert len(modal["private_metadata"]) == limits.SLACK_PRIVATE_METADATA
    assert len(modal["title"]["text"]) <= limits.SLACK_MODAL_TITLE


def test_list_offers_escalate_now_for_parked_and_pick_up_for_the_queue():
    parked = build_card_view(state(intent="park", escalated_at=None), now=T0)
    queued = build_card_view(state(), now=T0)
    blocks = list_blocks(parked=[parked], queue=[queued])
    accessories = [b["accessory"]["action_id"] for b in blocks if "accessory" in b]
    assert accessories == ["handoff_escalate_now", "handoff_pickup"]
    empty = list_blocks(parked=[], queue=[])
    assert [t for _, t in all_text(empty)][-1].startswith("The queue is empty")


def test_block_kit_builder_link_round_trips():
    msg = render()
    url = block_kit_builder_url(msg["blocks"])
    assert url.startswith("https://app.slack.com/block-kit-builder/#")
    assert json.loads(unquote(url.split("#", 1)[1])) == {"blocks": msg["blocks"]}
