"""The `handoff` command: its subcommands, listed here (nothing registers itself on import)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from pydantic import ValidationError

from bot.config import Settings, SettingsError
from bot.teams import local_dev
from db.engine import Database, describe_url
from db.errors import DatabaseConfigError, DatabaseUnavailable
from bot import report as report_cli
from demo import cli as demo_cli
from manifest import cli as manifest_cli


def _settings() -> Settings:
    return Settings()


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from bot.server import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    if settings.teams_local_dev:
        local_dev.check_bind(host)
    app = create_app(settings)
    logging.getLogger("handoff").info(
        "serving on http://%s:%s (database %s)", host, port, describe_url(settings.database_url)
    )
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server import install_platforms
    from bot.services import build_services
    from db import migrate

    async def run() -> None:
        services = build_services(settings)
        from aiohttp import web

        install_platforms(web.Application(), services)  # for their delivery ports; no routes are served
        if not await migrate.is_current(services.database):
            raise DatabaseUnavailable("database schema is not current: run `handoff db upgrade` first")
        worker = services.worker()
        logging.getLogger("handoff").info("worker %s running (%d loops)", worker.worker_id, worker.concurrency)
        try:
            await worker.run()
        finally:
            await services.database.dispose()

    asyncio.run(run())
    return 0


def _cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from db import migrate

    async def run() -> str | None:
        database = Database(settings.database_url)
        try:
            await migrate.upgrade(database)
            return await migrate.current_revision(database)
        finally:
            await database.dispose()

    revision = asyncio.run(run())
    print(f"database {describe_url(settings.database_url)} is at schema {revision}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="handoff", description="Escalation handoffs for Slack and Teams.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server and the job worker")
    serve.add_argument("--host", help="listen address (HANDOFF_HOST, default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (HANDOFF_PORT, default 3000)")
    serve.set_defaults(run=_cmd_serve)
    worker = sub.add_parser("worker", help="run job workers only (scaled deployments)")
    worker.set_defaults(run=_cmd_worker)
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(run=_cmd_db_upgrade)
    for name, command in (("manifest", manifest_cli), ("demo", demo_cli), ("report", report_cli)):
        parser_of = sub.add_parser(name, help=command.HELP)
        command.add_arguments(parser_of)
        parser_of.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings()
    except ValidationError as error:
        first = error.errors()[0]
        print(f"handoff: configuration error in {first['loc'][0]}: {first['msg']}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return args.run(args, settings)
    except (DatabaseConfigError, SettingsError) as error:
        print(f"handoff: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:
        print(f"handoff: HANDOFF_DATABASE_URL: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
