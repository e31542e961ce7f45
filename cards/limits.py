"""Platform limits (Slack, Teams), all in one place. truncate() and the content limits live in core.text."""

from core.text import ELLIPSIS, FIELD_CHARS, LIST_ITEM_CHARS, MAX_LIST_ITEMS, TITLE_CHARS, truncate

__all__ = ["ELLIPSIS", "FIELD_CHARS", "LIST_ITEM_CHARS", "MAX_LIST_ITEMS", "TITLE_CHARS", "truncate"]

# Slack Block Kit
SLACK_HEADER_TEXT = 150
SLACK_SECTION_TEXT = 3000
SLACK_FIELD_TEXT = 2000
SLACK_CONTEXT_TEXT = 3000
SLACK_BUTTON_TEXT = 75
SLACK_BUTTON_VALUE = 2000
SLACK_MAX_BLOCKS = 50
SLACK_FALLBACK_TEXT = 3000
SLACK_MODAL_TITLE = 24
SLACK_INPUT_TEXT = 3000  # plain_text_input max_length and initial_value
SLACK_PRIVATE_METADATA = 3000
SLACK_OPTION_TEXT = 75
SLACK_OPTION_VALUE = 150  # a select option's value
SLACK_VIEW_BLOCKS = 100  # modals and App Home
# Slack refuses a message around 11–13k characters of block text (`msg_blocks_too_long`; bolt-js issues
# 2509, 2867): a card keeps all its text under this, whatever the escalation holds.
SLACK_MESSAGE_TEXT = 10_000
# What a card's free-text sections (problem, tried, notes, the assessment) may use together; the rest of
# SLACK_MESSAGE_TEXT is headings, the meta line, status and buttons.
CARD_SECTIONS_TEXT = 8_500
# A link to the original conversation longer than this is left off the card (a cut URL is no link).
CARD_LINK_CHARS = 1_000

# Teams Adaptive Cards (the whole card travels in a 28 KB activity)
TEAMS_TEXT_BLOCK = 2000
TEAMS_CARD_BYTES = 28_000
