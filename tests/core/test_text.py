"""Untrusted text cannot notify a channel, whoever wrote it."""

import re

import pytest

from core.text import ZERO_WIDTH_SPACE, neutralize_mentions, one_line, strip_invisible, tidy_paragraphs

# What Slack or Teams would treat as a broadcast or a mention.
PINGS = re.compile(r"<\s*[!@]|@(here|channel|everyone)\b|<\s*at\s*>", re.IGNORECASE)


@pytest.mark.parametrize(
    "hostile, shown",
    [
        ("<!channel> outage", "@channel outage"),
        ("<!here|here> look", "@here look"),
        ("<!everyone>", "@everyone"),
        ("ping <!subteam^S0123|@oncall>", "ping @@oncall"),
        ("<@U0123ABC> did it", "@U0123ABC did it"),
        ("see <#C0123|general>", "see #general"),
        ("@here please", "@here please"),
        ("@CHANNEL now", "@CHANNEL now"),
        ("＠everyone", "＠everyone"),
        ("<at>Everyone</at> look", "@Everyone look"),
        ("@\u200dhere smuggled", "@here smuggled"),
        ("< !here >", "@here"),
    ],
)
def test_mentions_read_the_same_but_ping_nobody(hostile, shown):
    safe = neutralize_mentions(hostile)
    assert not PINGS.search(safe), safe
    assert safe.replace(ZERO_WIDTH_SPACE, "") == shown


@pytest.mark.parametrize("text", ["email me at dana@example.com", "C# and F#", "a < b > c", "<https://x.io|link>"])
def test_ordinary_text_is_left_alone(text):
    assert neutralize_mentions(text) == text


def test_neutralizing_twice_changes_nothing():
    once = neutralize_mentions("<!here> and @channel")
    assert neutralize_mentions(once) == once


def test_invisible_and_control_characters_are_dropped():
    assert strip_invisible("a\u202eb\u200bc\x00d\r\ne\tf") == "abcd\ne\tf"


def test_one_line_and_paragraphs():
    assert one_line("  step\n one \t two ") == "step one two"
    assert tidy_paragraphs("a  \n\n\n\n  b\n") == "a\n\nb"
