"""Untrusted text made safe to show, and cut to size: shared by the core (which shapes model output)
and the renderers in cards/, which import it from here (core/ imports nothing from cards/).

No broadcast mentions, no invisible or control characters.

What users type and what the model returns both pass through here (DESIGN invariant 7). The Slack
and Teams renderers still escape for their own markup; these helpers are the platform-neutral part
every caller shares, so nobody writes their own mention filter.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"

# What any card or message shows of free text before a renderer's own platform limit applies
# (also what the core keeps of a model's answer).
TITLE_CHARS = 120
FIELD_CHARS = 1500
LIST_ITEM_CHARS = 300
MAX_LIST_ITEMS = 6

# Inserted after "@" so a word that would ping ("@here") shows the same but notifies nobody.
ZERO_WIDTH_SPACE = "\u200b"

# Slack's special tokens: <!here>, <!channel|label>, <!everyone>, <!subteam^S123>, <@U123>, <#C123|name>.
_SLACK_TOKEN = re.compile(r"<\s*([!@#])\s*([^>|]*)(?:\|([^>]*))?>")
# Plain-text broadcasts (Slack and Teams both treat these as special in places); any case.
_BROADCAST_WORD = re.compile(r"[@＠﹫](?=(?:here|channel|everyone)\b)", re.IGNORECASE)
# Teams mention markup: <at>Name</at>.
_TEAMS_AT = re.compile(r"<\s*at\s*>(.*?)<\s*/\s*at\s*>", re.IGNORECASE | re.DOTALL)
# Control characters (keeping tab and newline), zero-width and bidirectional overrides: they hide
# or reorder text on a card, and a zero-width character inside "@\u200dhere" could be used to smuggle
# a mention past a naive filter.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]"
)


# What reorders or corrupts text without hiding a mention: controls (not tab/newline), bidi marks,
# overrides and isolates (U+202E), BOM. Zero-width spaces stay: neutralize_mentions puts them there.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]")


def strip_controls(text: str) -> str:
    """Drop control and bidirectional-override characters (U+202E, NUL), keep everything visible."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def strip_invisible(text: str) -> str:
    """Drop control, zero-width and bidi-override characters; normalise line endings."""
    return _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _slack_token(match: re.Match[str]) -> str:
    sigil, target, label = match.group(1), match.group(2).strip(), (match.group(3) or "").strip()
    shown = label or target.split("^", 1)[-1]
    if sigil == "#":
        return f"#{shown}"
    return f"@{ZERO_WIDTH_SPACE}{shown}"


def neutralize_mentions(text: str) -> str:
    """Text that reads the same but cannot notify anyone: no <!here>, @channel, <@U..>, <at>..</at>."""
    text = strip_invisible(text)
    text = _SLACK_TOKEN.sub(_slack_token, text)
    text = _TEAMS_AT.sub(lambda m: f"@{ZERO_WIDTH_SPACE}{m.group(1).strip()}", text)
    return _BROADCAST_WORD.sub(lambda m: m.group(0) + ZERO_WIDTH_SPACE, text)


def one_line(text: str) -> str:
    """Collapse all whitespace (newlines included) to single spaces: for list items and titles."""
    return " ".join(text.split())


def tidy_paragraphs(text: str) -> str:
    """Trim each line and keep at most one blank line in a row, so no field is a wall of newlines."""
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def truncate(text: str, limit: int) -> str:
    """Cut to at most `limit` characters, ending in an ellipsis when anything was cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS
