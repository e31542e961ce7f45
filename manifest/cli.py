"""`handoff manifest <platform> ...`: each platform module that exists adds its own sub-command.

A platform module (manifest/slack.py, manifest/teams.py) exposes MANIFEST_COMMAND =
(help, add_arguments(parser), run(args, settings) -> int).
"""

from __future__ import annotations

import importlib

from bot.cli import COMMANDS

PLATFORMS = ("slack", "teams")


def _platform_commands() -> dict:
    found = {}
    for name in PLATFORMS:
        try:
            module = importlib.import_module(f"manifest.{name}")
        except ImportError:
            continue
        if hasattr(module, "MANIFEST_COMMAND"):
            found[name] = module.MANIFEST_COMMAND
    return found


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="platform", required=True)
    for name, (help_text, add_platform_arguments, run) in _platform_commands().items():
        platform = sub.add_parser(name, help=help_text)
        add_platform_arguments(platform)
        platform.set_defaults(manifest_run=run)


def run(args, settings) -> int:
    return args.manifest_run(args, settings)


COMMANDS["manifest"] = ("print an app manifest / package for a platform", add_arguments, run)
