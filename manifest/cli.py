"""`handoff manifest <platform> ...`: one command, a builder module per platform (manifest/slack.py, manifest/teams.py)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from bot.cli import COMMANDS

PLATFORMS = ("slack", "teams")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    platforms = parser.add_subparsers(dest="platform", required=True, metavar="platform")
    for name in PLATFORMS:
        try:
            builder = importlib.import_module(f"manifest.{name}")
        except ModuleNotFoundError:
            continue
        sub = platforms.add_parser(name, help=builder.HELP)
        builder.add_arguments(sub)
        sub.set_defaults(build=builder.run)


def run(args: argparse.Namespace, settings: Any) -> int:
    return args.build(args, settings)


COMMANDS["manifest"] = ("build an app manifest / package for installing Handoff", add_arguments, run)
