"""Handoff's settings in Slack: the `/escalate setup` modal and the Settings section of App Home. Pure.

Each setting group is one `SettingsSection`: the blocks it shows in App Home and the inputs it adds to
the modal. Adding a group (reminders, a PSA connection) = one more section in SECTIONS, and its values
read back by the handler that owns them; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cards.limits import SLACK_MODAL_TITLE, SLACK_OPTION_TEXT, SLACK_VIEW_BLOCKS
from cards.messages import Message
from cards.slack import Block, context, escape_mrkdwn, mrkdwn, plain
from cards.slack_messages import paragraphs_mrkdwn
from cards.slack_psa import psa_home
from cards.view import PersonView
from core.models import ROLES, ReminderSchedule
from core.psa_form import PsaStatus

SETTINGS_MODAL = "handoff_settings"
OPEN_SETTINGS = "handoff_open_settings"
CHANNEL_FIELD = "channel"
ROLE_PEOPLE_FIELD = "role_people"
ROLE_FIELD = "role"
REMINDERS_FIELD = "reminders"
ROLE_LABELS = {"viewer": "Viewer (sees, can't pick up)", "engineer": "Engineer", "admin": "Admin (settings, roles)"}


@dataclass(frozen=True)
class SettingsView:
    """What the settings show one person in one workspace."""

    channel: str | None
    admins: tuple[PersonView, ...]
    can_change: bool  # an admin, or nobody is one yet (the first to set the channel becomes one)
    reminders: ReminderSchedule | None = None
    psa: PsaStatus | None = None  # None: no PSA integration in this process


@dataclass(frozen=True)
class SettingsSection:
    title: str
    home: Callable[[SettingsView], list[Block]]
    inputs: Callable[[SettingsView], list[Block]]


def _channel_home(view: SettingsView) -> list[Block]:
    where = f"<#{view.channel}>" if view.channel else "not set yet: escalations can't be sent"
    return [{"type": "section", "text": mrkdwn(f"*Escalation channel:* {where}")}]


def _channel_inputs(view: SettingsView) -> list[Block]:
    element: dict[str, Any] = {
        "type": "conversations_select", "action_id": CHANNEL_FIELD,
        "placeholder": plain("Pick a channel", 150),
        "filter": {"include": ["public", "private"], "exclude_bot_users": True, "exclude_external_shared_channels": True},
    }
    if view.channel:
        element["initial_conversation"] = view.channel
    return [{
        "type": "input", "block_id": CHANNEL_FIELD, "label": plain("Escalation channel", 2000), "element": element,
        "hint": plain("Escalation cards are posted here. Invite Handoff to it (/invite @Handoff).", 2000),
    }]


def _roles_home(view: SettingsView) -> list[Block]:
    admins = ", ".join(escape_mrkdwn(a.name) for a in view.admins[:10]) or "none yet"
    return [{"type": "section", "text": mrkdwn(f"*Admins:* {admins}")},
            context("Admins give roles with `/escalate role @name viewer|engineer|admin`, or in the settings.")]


def _roles_inputs(view: SettingsView) -> list[Block]:
    options = [{"text": plain(ROLE_LABELS[r], SLACK_OPTION_TEXT), "value": r} for r in ROLES]
    return [
        {"type": "input", "block_id": ROLE_PEOPLE_FIELD, "optional": True, "label": plain("Give a role to", 2000),
         "element": {"type": "multi_users_select", "action_id": ROLE_PEOPLE_FIELD, "max_selected_items": 10,
                     "placeholder": plain("People", 150)}},
        {"type": "input", "block_id": ROLE_FIELD, "optional": True, "label": plain("Role", 2000),
         "element": {"type": "static_select", "action_id": ROLE_FIELD, "options": options,
                     "placeholder": plain("Role", 150)}},
    ]


def _reminders_home(view: SettingsView) -> list[Block]:
    if view.reminders is None:
        return []
    which = "the default" if view.reminders.is_default else "this workspace's own schedule"
    return [{"type": "section", "text": mrkdwn(
        f"*Reminders:* `{escape_mrkdwn(view.reminders.schedule)}` after an escalation nobody has picked up "
        f"({which}; sooner for high urgency, later for low)")}]


def _reminders_inputs(view: SettingsView) -> list[Block]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": REMINDERS_FIELD, "max_length": 100,
                               "placeholder": plain("10m,30m,60m", 150)}
    if view.reminders is not None:
        element["initial_value"] = view.reminders.schedule
    return [{
        "type": "input", "block_id": REMINDERS_FIELD, "optional": True, "label": plain("Reminder schedule", 2000),
        "element": element,
        "hint": plain("Durations after the escalation, e.g. 10m,30m,60m (s, m or h). Empty: the default.", 2000),
    }]


def _psa_home(view: SettingsView) -> list[Block]:
    return psa_home(view.psa, can_change=view.can_change) if view.psa is not None else []


SECTIONS: list[SettingsSection] = [
    SettingsSection("Escalation channel", _channel_home, _channel_inputs),
    SettingsSection("Roles", _roles_home, _roles_inputs),
    SettingsSection("Reminders", _reminders_home, _reminders_inputs),
    # Its own modal (its fields depend on the PSA picked), opened from its buttons in App Home.
    SettingsSection("PSA connection", _psa_home, lambda view: []),
]


def settings_home_blocks(view: SettingsView) -> list[Block]:
    """The Settings section at the foot of App Home."""
    blocks: list[Block] = [{"type": "divider"}, {"type": "header", "text": plain("Settings", 150)}]
    for section in SECTIONS:
        blocks += section.home(view)
    if view.can_change:
        blocks.append({"type": "actions", "block_id": "handoff_settings_actions", "elements": [
            {"type": "button", "action_id": OPEN_SETTINGS, "text": plain("Change settings", 75), "value": "settings"}]})
    return blocks


def with_settings(home: dict[str, Any], view: SettingsView) -> dict[str, Any]:
    """App Home with the Settings section after what it already shows (within Slack's block limit)."""
    settings = settings_home_blocks(view)
    kept = home["blocks"][: SLACK_VIEW_BLOCKS - len(settings)]
    return {**home, "blocks": kept + settings}


def settings_modal(view: SettingsView) -> dict[str, Any]:
    blocks: list[Block] = []
    for section in SECTIONS:
        blocks += section.inputs(view)
    return {
        "type": "modal", "callback_id": SETTINGS_MODAL,
        "title": plain("Handoff settings", SLACK_MODAL_TITLE),
        "submit": plain("Save", SLACK_MODAL_TITLE), "close": plain("Cancel", SLACK_MODAL_TITLE),
        "blocks": blocks,
    }


def settings_result_modal(message: Message, *, warning: Message | None = None) -> dict[str, Any]:
    """The modal after a save: what changed, and what to do if the bot can't post in the channel."""
    blocks: list[Block] = [{"type": "section", "text": mrkdwn(paragraphs_mrkdwn(message))}]
    if warning is not None:
        blocks.append({"type": "section", "text": mrkdwn(":warning: " + paragraphs_mrkdwn(warning))})
    return {"type": "modal", "callback_id": SETTINGS_MODAL, "title": plain("Handoff settings", SLACK_MODAL_TITLE),
            "close": plain("Close", SLACK_MODAL_TITLE), "blocks": blocks}
