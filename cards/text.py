"""Text helpers every renderer shares. Pure."""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"  # invisible; breaks a token so no client reads it as a mention

# Broadcasts and mention syntax of both platforms: Slack's <!channel>, <!here>, <@U123>, plain
# @channel/@here/@everyone, and Teams' <at>...</at> tags.
_BROADCAST = re.compile(r"(?i)@(channel|here|everyone|team|all)\b")
_SLACK_SPECIAL = re.compile(r"<([!@#])")
_TEAMS_AT = re.compile(r"(?i)<(/?)at>")


def neutralize_mentions(text: str) -> str:
    """Make user- or model-written text unable to ping anyone: the text reads the same."""
    text = _BROADCAST.sub(lambda m: "@" + WORD_JOINER + m.group(1), text)
    text = _SLACK_SPECIAL.sub(lambda m: "<" + WORD_JOINER + m.group(1), text)
    return _TEAMS_AT.sub(lambda m: "<" + WORD_JOINER + m.group(1) + "at>", text)
