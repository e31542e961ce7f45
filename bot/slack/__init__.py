"""Slack: bolt app, handlers, delivery. Importing this registers the platform with the server."""

from bot.server import PLATFORMS
from bot.slack.app import install

if install not in PLATFORMS:
    PLATFORMS.append(install)
