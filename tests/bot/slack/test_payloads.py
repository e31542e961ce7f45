"""Parsing what Slack sends: table-driven, pure."""

import json

import pytest

from bot.slack.payloads import ModalContext, modal_errors, parse_submission, person_of, workspace_of
from cards.limits import SLACK_PRIVATE_METADATA
from standins.slack.requests import modal_values


@pytest.mark.parametrize(
    "body, team, person",
    [
        ({"team_id": "T1", "user_id": "U1", "user_name": "jamie"}, "T1", ("U1", "jamie")),
        ({"team": {"id": "T2"}, "user": {"id": "U2", "username": "dana", "name": "dana"}}, "T2", ("U2", "dana")),
        ({"user": {"id": "U3", "team_id": "T3"}}, "T3", ("U3", "")),
    ],
)
def test_who_and_where(body, team, person):
    assert workspace_of(body).external_id == team
    key = person_of(body)
    assert (key.external_id, key.display_name) == person


def test_submission_reads_every_field_and_the_context():
    context = ModalContext(channel="C1", source_link="https://acme.slack.com/archives/C1/p1", excerpt="U1: hi")
    view = {"id": "V1", "private_metadata": context.encode(), "state": {"values": modal_values(
        summary="VPN down", tried="reboot", urgency="critical", ticket="T-9", target="U-DANA", intent="park")}}
    sub = parse_submission(view)
    assert sub.fields == {"summary": "VPN down", "tried": "reboot", "notes": "", "urgency": "critical",
                          "ticket": "T-9", "source_link": context.source_link, "excerpt": "U1: hi"}
    assert (sub.target, sub.intent, sub.context.channel) == ("U-DANA", "park", "C1")


@pytest.mark.parametrize("metadata", ["", "not json", "[1,2]", json.dumps({"excerpt": 5})])
def test_junk_metadata_is_no_context(metadata):
    sub = parse_submission({"private_metadata": metadata, "state": {"values": {}}})
    assert sub.intent == "escalate" and sub.target is None and sub.fields["summary"] == ""


def test_long_excerpt_keeps_its_newest_part_within_slacks_metadata_limit():
    excerpt = "\n".join(f"U1: message {i} ✓" for i in range(500))
    encoded = ModalContext(channel="C1", excerpt=excerpt).encode()
    assert len(encoded) <= SLACK_PRIVATE_METADATA
    decoded = ModalContext.decode(encoded)
    assert decoded.excerpt.startswith("…") and decoded.excerpt.endswith("message 499 ✓")


def test_errors_land_on_modal_blocks():
    assert modal_errors({"summary": "a", "excerpt": "b", "tried": "c"}) == {"summary": "a b", "tried": "c"}
