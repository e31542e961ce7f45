"""The Slack manifest: valid against Slack's schema, and naming exactly the routes the bot serves."""

import json
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest

from bot.cli import main
from bot.config import Settings
from bot.server import create_app
from bot.slack.app import SLACK
from manifest.slack import BOT_SCOPES, build_manifest

# ../shared/schemas beside the repository, as the issue names it.
SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "slack" / "manifest.schema.1.0.0.json"


def urls(manifest) -> set[str]:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("url", "request_url") and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(manifest)
    return found


@pytest.mark.parametrize("socket_mode", [False, True])
def test_manifest_validates_against_slacks_schema(socket_mode):
    manifest = build_manifest(url="https://bot.example.com", socket_mode=socket_mode)
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    assert manifest["settings"]["socket_mode_enabled"] is socket_mode
    assert (urls(manifest) == set()) is socket_mode


def test_manifest_names_every_slack_route_the_server_serves(tmp_path):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", slack_bot_token="xoxb-x",
                        slack_signing_secret="s")
    app = create_app(settings, run_worker=False)
    served = {r.resource.canonical for r in app.router.routes() if r.resource.canonical.startswith("/slack")}
    assert served == set(app[SLACK].routes)
    named = {urlparse(u).path for u in urls(build_manifest(url="https://bot.example.com/"))}
    assert named == served
    assert {urlparse(u).netloc for u in urls(build_manifest(url="https://bot.example.com/"))} == {"bot.example.com"}


def test_least_privilege_scopes():
    assert sorted(BOT_SCOPES) == sorted(["commands", "chat:write", "channels:history", "groups:history",
                                         "im:history", "im:write", "users:read", "users:read.email"])
    # chat:write posts; im:write only opens the bot's own DM (to look for a DM a retry already sent).
    assert not any(s.endswith(":write") and s not in ("chat:write", "im:write") for s in BOT_SCOPES)


def test_cli_prints_the_manifest(capsys):
    assert main(["manifest", "slack", "--url", "https://bot.example.com"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["features"]["slash_commands"][0]["url"] == "https://bot.example.com/slack/events"
    assert main(["manifest", "slack"]) == 2


def test_oauth_manifest_adds_the_redirect_url_the_server_serves(tmp_path):
    manifest = build_manifest(url="https://bot.example.com/", oauth=True, token_rotation=True)
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    assert manifest["oauth_config"]["redirect_urls"] == ["https://bot.example.com/slack/oauth_redirect"]
    assert manifest["settings"]["token_rotation_enabled"] is True
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", slack_client_id="1.2",
                        slack_client_secret="c", slack_signing_secret="s")
    app = create_app(settings, run_worker=False)
    served = {r.resource.canonical for r in app.router.routes() if r.resource.canonical.startswith("/slack")}
    assert served == {"/slack/events", "/slack/install", "/slack/oauth_redirect"}
    named = {urlparse(u).path for u in urls(manifest)} | {urlparse(u).path for u in manifest["oauth_config"]["redirect_urls"]}
    assert named == served - {"/slack/install"}  # the install link is the admin's, not Slack's
    assert "redirect_urls" not in build_manifest(url="https://bot.example.com/")["oauth_config"]


def test_oauth_manifest_refusals(capsys):
    assert main(["manifest", "slack", "--socket-mode", "--oauth"]) == 2
    assert "--oauth always needs one" in capsys.readouterr().out
    assert main(["manifest", "slack", "--url", "https://b.example.com", "--token-rotation"]) == 2
    assert "--token-rotation needs --oauth" in capsys.readouterr().out
