"""`handoff demo [--teams] [--db PATH]`: pick the platform, a SQLite file, quiet the logs, play the flow."""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from pathlib import Path

from bot.config import Settings
from demo import slack, teams

HELP = "the whole flow locally: a junior escalates, two seniors race for Pick Up (Slack, or --teams)"
NOISY_LOGGERS = ("handoff", "slack_bolt", "slack_sdk", "aiohttp", "microsoft_agents")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teams", action="store_true", help="play it in Microsoft Teams instead of Slack")
    parser.add_argument("--db", type=Path, help="SQLite file to use (default: a fresh temporary one)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.ERROR)
    play = teams.run_demo if args.teams else slack.run_demo
    if args.db is not None:
        args.db.unlink(missing_ok=True)
        return asyncio.run(play(args.db.resolve()))
    with tempfile.TemporaryDirectory(prefix="handoff-demo-") as folder:
        return asyncio.run(play(Path(folder) / "handoff-demo.db"))
