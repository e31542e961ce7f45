"""Platform limits and the one truncate() every renderer uses."""

ELLIPSIS = "…"

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
SLACK_VIEW_BLOCKS = 100  # modals and App Home

# Teams Adaptive Cards (the whole card travels in a 28 KB activity)
TEAMS_TEXT_BLOCK = 2000
TEAMS_CARD_BYTES = 28_000

# View model: what any card shows of free text before a renderer's own limit applies
TITLE_CHARS = 120
FIELD_CHARS = 1500
LIST_ITEM_CHARS = 300
MAX_LIST_ITEMS = 6


def truncate(text: str, limit: int) -> str:
    """Cut to at most `limit` characters, ending in an ellipsis when anything was cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS
