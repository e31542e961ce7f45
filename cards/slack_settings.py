"""Slack: the reminder schedule in the App Home's settings, and the modal admins change it in. Pure."""

from __future__ import annotations

from typing import Any

from cards.limits import SLACK_MODAL_TITLE
from cards.slack import Block, actions, context, escape_mrkdwn, mrkdwn, plain
from cards.view import Button
from core.models import ReminderSchedule

REMINDERS_MODAL = "reminders_modal"
REMINDERS_FIELD = "reminders"
EDIT_ACTION = "reminders_edit"  # rendered as handoff_reminders_edit


def reminders_section(schedule: ReminderSchedule, *, is_admin: bool) -> list[Block]:
    which = "the default" if schedule.is_default else "this workspace's own schedule"
    blocks: list[Block] = [
        {"type": "header", "text": plain("Settings", 150)},
        {"type": "section", "text": mrkdwn(f"*Reminders* for escalations nobody has picked up: "
                                           f"`{escape_mrkdwn(schedule.schedule)}` after the escalation ({which}; "
                                           "sooner for high urgency, later for low).")},
    ]
    if is_admin:
        blocks += actions((Button(EDIT_ACTION, "Change reminders", "reminders"),), block_id="handoff_settings")
    else:
        blocks.append(context("Only Handoff admins can change this."))
    return blocks


def reminders_modal(schedule: ReminderSchedule) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": REMINDERS_MODAL,
        "title": plain("Reminders", SLACK_MODAL_TITLE),
        "submit": plain("Save", SLACK_MODAL_TITLE),
        "close": plain("Cancel", SLACK_MODAL_TITLE),
        "blocks": [
            {
                "type": "input",
                "block_id": REMINDERS_FIELD,
                "optional": True,
                "label": plain("Reminder schedule", 2000),
                "hint": plain("Durations after the escalation, e.g. 10m,30m,60m (s, m or h). Empty: the default.", 2000),
                "element": {"type": "plain_text_input", "action_id": REMINDERS_FIELD, "max_length": 100,
                            "initial_value": schedule.schedule},
            }
        ],
    }


def submitted_schedule(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(REMINDERS_FIELD) or {}).get(REMINDERS_FIELD) or {}).get("value") or "")
