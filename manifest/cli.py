"""`handoff manifest <platform> ...`: one command, a builder module per platform (manifest/slack.py, manifest/teams.py).

Imports no runtime code (bot/, core/, db/): building an install package needs no server, database or SDK.
"""

from __future__ import annotations

import argparse
from typing import Any

from manifest import slack, teams

HELP = "build an app manifest / package for installing Handoff"
BUILDERS = {"slack": slack, "teams": teams}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    platforms = parser.add_subparsers(dest="platform", required=True, metavar="platform")
    for name, builder in BUILDERS.items():
        sub = platforms.add_parser(name, help=builder.HELP)
        builder.add_arguments(sub)
        sub.set_defaults(build=builder.run)


def run(args: argparse.Namespace, settings: Any) -> int:
    return args.build(args, settings)
