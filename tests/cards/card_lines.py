"""The card's lines (cards/view.py words them) as a person reads them off each platform's card.

Mentions and bold names become the name, a time becomes "[time <epoch>]" (each reader sees it in their own
zone: the instant is what both cards must agree on), markup and escapes go.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from cards import slack, teams
from cards.parts import Line, PersonView, render_line

# block id (Slack) / TextBlock id (Teams) -> the line's name
SLACK_LINES = {slack.STATUS_BLOCK_ID: "status", slack.ASSESSMENT_BLOCK_ID: "assessment",
               f"{slack.ASSESSMENT_BLOCK_ID}_updated": "updated"}
TEAMS_LINES = {teams.STATUS_BLOCK_ID: "status", teams.ASSESSMENT_BLOCK_ID: "assessment",
               f"{teams.ASSESSMENT_BLOCK_ID}_updated": "updated"}


def when(at: datetime) -> str:
    return f"[time {int(at.timestamp())}]"


def slack_read(text: str, people: Mapping[str, str]) -> str:
    text = re.sub(r"<@([\w-]+)>", lambda m: people[m.group(1)], text)
    text = re.sub(r"<!date\^(\d+)\^\{time\}\|\d\d:\d\d UTC>", lambda m: f"[time {m.group(1)}]", text)
    text = re.sub(r"^_(.*)_$", r"\1", text)  # italics
    return html.unescape(re.sub(r"\*([^*]+)\*", r"\1", text))  # bold; then &lt; &gt; &amp;


def teams_read(text: str) -> str:
    def instant(m: re.Match) -> str:
        return when(datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC))
    text = re.sub(r"\{\{TIME\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)\}\}", instant, text)
    return re.sub(r"\\(.)", r"\1", text.replace("**", ""))  # bold; markdown escapes


def slack_lines(blocks: list[dict[str, Any]], people: Mapping[str, str]) -> dict[str, str]:
    return {SLACK_LINES[b["block_id"]]: slack_read(b["elements"][0]["text"], people)
            for b in blocks if b["type"] == "context" and b.get("block_id") in SLACK_LINES}


def teams_lines(card: dict[str, Any]) -> dict[str, str]:
    return {TEAMS_LINES[b["id"]]: teams_read(b["text"]) for b in card["body"] if b.get("id") in TEAMS_LINES}


def read(line: Line, name: Callable[[PersonView], str] = lambda p: p.name) -> str:
    """What a line says, read straight off the view model: the words both cards must show."""
    return render_line(line, text=str, name=name, strong=str, time=when)
