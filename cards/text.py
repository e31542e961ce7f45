"""Untrusted text made harmless for any chat surface (DESIGN invariant 7). Pure."""

from __future__ import annotations

import re

# "@channel", "@here", "@everyone" (and Teams' "@General"-style team mentions are not text, so not here).
_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"


def neutralize_mentions(text: str) -> str:
    """Break bare broadcast mentions so no surface turns them into a ping; readers still see them."""
    return _BROADCAST.sub("@" + ZERO_WIDTH_SPACE, text)
