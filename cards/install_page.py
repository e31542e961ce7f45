"""The pages an admin's browser shows at the end of a Slack install (/slack/oauth_redirect). Pure."""

from __future__ import annotations

import html
from dataclasses import dataclass

# bolt's failure reasons (slack_bolt.oauth.async_oauth_flow) and Slack's own `error=` values.
FAILURES: dict[str, tuple[str, str]] = {
    "access_denied": ("Install cancelled",
                      "Handoff was not installed: the install was cancelled in Slack. Nothing was stored. "
                      "Start again from the install link when you are ready."),
    "invalid_state": ("Install link expired or already used",
                      "This install link has expired or was already used, so nothing was stored. "
                      "Start again from the install link."),
    "invalid_browser": ("Install started in another browser",
                        "Finish the install in the browser you started it in, or start again from the install "
                        "link here. Nothing was stored."),
    "missing_code": ("Install incomplete",
                     "Slack did not send an authorization code, so nothing was stored. Start again from the "
                     "install link."),
    "invalid_code": ("Install link expired",
                     "Slack did not accept the authorization (it expires after a few minutes and works once), "
                     "so nothing was stored. Start again from the install link."),
    "storage_error": ("Install not saved",
                      "Slack approved the install but Handoff could not save it (its database is unavailable). "
                      "Try again in a minute."),
}
UNKNOWN_FAILURE = ("Install failed", "Handoff was not installed ({reason}). Nothing was stored. Start again from "
                   "the install link.")


@dataclass(frozen=True)
class InstallPage:
    title: str
    body: str

    def html(self) -> str:
        return (
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Handoff: "
            f"{html.escape(self.title)}</title></head><body style=\"font-family:sans-serif;max-width:40em;"
            f"margin:3em auto\"><h1>{html.escape(self.title)}</h1><p>{html.escape(self.body)}</p></body></html>"
        )


def install_succeeded(team_name: str) -> InstallPage:
    where = f"the {team_name} workspace" if team_name else "your workspace"
    return InstallPage(
        "Handoff is installed",
        f"Handoff is installed in {where}. Next, in Slack: invite it to your escalation channel "
        "(/invite @Handoff there), then run /escalate setup to choose that channel. "
        "The first person to choose it becomes Handoff's admin there.",
    )


def install_failed(reason: str) -> InstallPage:
    title, body = FAILURES.get(reason, UNKNOWN_FAILURE)
    return InstallPage(title, body.format(reason=reason[:100]))
