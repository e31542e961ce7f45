"""The Teams app package: manifest v1.30 and two icons, zipped at the root.

`handoff manifest teams --app-id ID --url https://bot.example.com --out handoff-teams.zip`
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from manifest.icons import color_icon, outline_icon

MANIFEST_VERSION = "1.30"
SCHEMA_URL = f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT = "#2F5BEA"
SCOPES = ["personal", "team", "groupChat"]
MESSAGE_ACTION_ID = "escalateMessage"  # the agent routes composeExtension invokes by kind, not by this id
HELP = "build the Teams app package (manifest.json + icons, zipped)"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

COMMANDS = [
    {"title": "escalate", "description": "Hand a problem to a senior engineer (opens the escalation form)"},
    {"title": "use this channel", "description": "Admins: post escalation cards in this channel"},
    {"title": "make", "description": "Admins: make @someone engineer, viewer or admin"},
    {"title": "help", "description": "What Handoff can do"},
]


def build_manifest(*, app_id: str, url: str, version: str = "1.0.0") -> dict[str, Any]:
    base = url.rstrip("/")
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "Handoff",
            "websiteUrl": base,
            "privacyUrl": f"{base}/privacy",
            "termsOfUseUrl": f"{base}/terms",
        },
        "name": {"short": "Handoff", "full": "Handoff: escalations for IT help desks"},
        "description": {
            "short": "Escalate a stuck ticket; exactly one senior picks it up.",
            "full": (
                "Handoff turns \"I'm stuck, can someone senior take this?\" into an accountable handoff. "
                "Say \"escalate\" (or use \"Escalate this message\" on any message), describe the problem, and "
                "Handoff posts a card with a Pick Up button in your escalation channel, with a diagnostic "
                "assessment. The first senior who picks it up owns it; everyone else is told who did."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [{
            "botId": app_id,
            "scopes": SCOPES,
            "supportsFiles": False,
            "isNotificationOnly": False,
            "commandLists": [{"scopes": SCOPES, "commands": COMMANDS}],
        }],
        "composeExtensions": [{
            "botId": app_id,
            "commands": [{
                "id": MESSAGE_ACTION_ID,
                "type": "action",
                "title": "Escalate this message",
                "description": "Open the escalation form filled in from this message, with a link back to it",
                "context": ["message"],
                "fetchTask": True,
            }],
        }],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [urlparse(base).hostname],
    }


def build_package(*, app_id: str, url: str, out: Path) -> dict[str, Any]:
    manifest = build_manifest(app_id=app_id, url=url)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2))
        package.writestr("color.png", color_icon(ACCENT))
        package.writestr("outline.png", outline_icon())
    return manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app-id", required=True, help="the bot's Microsoft App ID (MICROSOFT_APP_ID), a GUID")
    parser.add_argument("--url", required=True, help="the bot's public https URL, e.g. https://bot.example.com")
    parser.add_argument("--out", default="handoff-teams.zip", help="where to write the package")


def run(args: argparse.Namespace, settings: Any) -> int:
    if not _GUID.match(args.app_id or ""):
        print(f"handoff: --app-id must be the bot's Microsoft App ID (a GUID), got {args.app_id!r}", file=sys.stderr)
        return 2
    parsed = urlparse(args.url)
    if parsed.scheme != "https" or not parsed.hostname:
        print(f"handoff: --url must be the bot's public https URL, got {args.url!r}", file=sys.stderr)
        return 2
    out = Path(args.out)
    build_package(app_id=args.app_id, url=args.url, out=out)
    print(f"wrote {out}: upload it in Teams admin center > Teams apps > Manage apps > Upload new app; "
          f"the bot's messaging endpoint is {args.url.rstrip('/')}/api/messages")
    return 0
