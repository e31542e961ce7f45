"""The Teams settings card: the workspace's reminder schedule, the way to its stats, and its PSA
connection (cards/teams_psa.py). Pure."""

from __future__ import annotations

from typing import Any

from cards.stats_messages import WINDOWS
from cards.teams import _card, _text, escape_markdown
from core.models import ReminderSchedule

SETTINGS_VERB = "reminders"
STATS_VERB = "stats"
SCHEDULE_INPUT = "reminders"


def settings_card(schedule: ReminderSchedule, *, tenant_id: str, notice: str = "",
                  psa: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`psa`: the PSA connection's part (cards/teams_psa.psa_section), after the reminders."""
    which = "the default" if schedule.is_default else "this workspace's own"
    body: list[dict[str, Any]] = [_text("**Handoff settings**", size="Medium")]
    if notice:
        body.append(_text(escape_markdown(notice, 600), color="Attention" if notice.startswith("That") else "Good"))
    body += [
        _text(f"Reminders for escalations nobody has picked up follow {which} schedule: "
              f"**{escape_markdown(schedule.schedule, 100)}** after the escalation (sooner for high urgency, later "
              "for low). Admins can change it; leave it empty for the default.", isSubtle=True),
        {"type": "Input.Text", "id": SCHEDULE_INPUT, "label": "Reminder schedule", "value": schedule.schedule,
         "placeholder": "10m,30m,60m", "maxLength": 100},
    ]
    body += psa or []
    actions = [{"type": "Action.Execute", "title": "Save reminders", "verb": SETTINGS_VERB, "style": "positive",
                "data": {"workspace": tenant_id}}]
    actions += [{"type": "Action.Execute", "title": f"Stats: {days} days", "verb": STATS_VERB,
                 "data": {"workspace": tenant_id, "days": days}} for days in WINDOWS]
    return _card(body, actions)
