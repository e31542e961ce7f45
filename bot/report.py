"""`handoff report`: the pilot's numbers, per week and per senior, as a table or CSV."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from bot.config import Settings
from cards.report import report_csv, report_text
from core.handoffs import Handoffs
from core.schedule import ScheduleError, parse_duration
from db.engine import Database
from db.tables import utcnow

HELP = "per week and per senior: escalations, pick-up and first-action medians, time saved"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="30d", help="how far back, e.g. 7d, 30d, 12h (default 30d)")
    parser.add_argument("--until", help="end of the period, ISO date or time in UTC (default now)")
    parser.add_argument("--workspace", help="only this Slack team id / Teams tenant id")
    parser.add_argument("--csv", action="store_true", help="CSV instead of a table")


def _until(text: str | None) -> datetime:
    if not text:
        return utcnow()
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        span = parse_duration(args.since)
    except ScheduleError as error:
        print(f"handoff report: --since: {error}", file=sys.stderr)
        return 2
    try:
        until = _until(args.until)
    except ValueError:
        print(f"handoff report: --until: {args.until!r} is not a date like 2026-11-30", file=sys.stderr)
        return 2

    async def read():
        database = Database(settings.database_url)
        try:
            return await Handoffs(database).report(
                since=until - span, until=until, baseline_min=settings.baseline_minutes,
                workspace_external_id=args.workspace,
            )
        finally:
            await database.dispose()

    report = asyncio.run(read())
    if report is None:
        print(f"handoff report: no workspace {args.workspace!r} in this database", file=sys.stderr)
        return 2
    sys.stdout.write(report_csv(report) if args.csv else report_text(report))
    return 0
