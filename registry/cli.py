"""The `registry` command: run the server, manage the schema, and publish (registry/client/).

Errors an operator can act on (bad configuration, a dirty database, a taken port) are printed as
one line on stderr with exit status 1 (2 for usage errors), never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import asyncpg

from registry import __version__
from registry.client import commands as client_commands
from registry.config import Config, ConfigError
from registry.db.bootstrap import database_url, migrate_to_latest
from registry.db.embedded import EmbeddedPostgresError
from registry.db.migrate import (
    MigrationError,
    force_version,
    load_migrations,
    migrate_down,
    migrate_up,
    read_version,
)
from registry.problems import DATABASE_UNAVAILABLE
from registry.resources import migrations_dir
from registry.serve_errors import ServeError

log = logging.getLogger("wharf.cli")


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive number of migrations")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description="Wharf: extension registry and package index.")
    parser.add_argument("--version", action="version", version=f"wharf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--data-dir", type=Path, help="embedded PostgreSQL data directory (env WHARF_DATA_DIR)")

    run = commands.add_parser("serve", parents=[database], help="run the HTTP server")
    run.add_argument("--host", help="listen address (env WHARF_HOST, default 127.0.0.1)")
    run.add_argument("--port", type=int, help="listen port (env WHARF_PORT, default 8080)")
    run.add_argument("--workers", type=int, help="server processes (env WHARF_WORKERS, default 1)")
    run.add_argument(
        "--no-migrate", action="store_true", help="do not migrate up on start (env WHARF_AUTO_MIGRATE=false)"
    )

    migrate = commands.add_parser("migrate", help="manage the database schema (golang-migrate compatible)")
    steps = migrate.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = steps.add_parser("up", parents=[database], help="apply all or N pending migrations")
    up.add_argument("n", nargs="?", type=_non_negative)
    down = steps.add_parser("down", parents=[database], help="revert all or the last N migrations")
    down.add_argument("n", nargs="?", type=_non_negative)
    steps.add_parser("version", parents=[database], help="print the current version (and whether dirty)")
    force = steps.add_parser("force", parents=[database], help="record version V as clean (-1: none)")
    force.add_argument("v", type=int, metavar="V")
    client_commands.add_commands(commands)
    return parser


def _config(args: argparse.Namespace) -> Config:
    config = Config.from_env().with_overrides(data_dir=args.data_dir)
    if args.command == "serve":
        config = config.with_overrides(
            host=args.host,
            port=args.port,
            workers=args.workers,
            auto_migrate=False if args.no_migrate else None,
        )
        if not 0 <= config.port <= 65535:
            raise ConfigError(f"--port must be between 0 and 65535, got {config.port}")
        if config.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {config.workers}")
    return config


async def _migrate(dsn: str, args: argparse.Namespace) -> str:
    migrations = load_migrations(migrations_dir())
    conn = await asyncpg.connect(dsn)
    try:
        if args.action == "up":
            done = await migrate_up(conn, migrations, args.n)
            summary = f"applied {len(done)} migration(s)"
        elif args.action == "down":
            done = await migrate_down(conn, migrations, args.n)
            summary = f"reverted {len(done)} migration(s)"
        elif args.action == "force":
            await force_version(conn, args.v)
            summary = f"forced version {args.v}"
        else:
            return str(await read_version(conn))
        return f"{summary}; version {await read_version(conn)}"
    finally:
        await conn.close()


def _migrate_on_start(config: Config, dsn: str) -> bool:
    """Migrate before serving (a dirty database stops the start, MigrationError); when the
    database does not answer, serve anyway and return True: the server migrates once it does."""
    if not config.auto_migrate:
        return False
    try:
        asyncio.run(migrate_to_latest(dsn, connect_timeout=config.db_timeout))
    except DATABASE_UNAVAILABLE as exc:
        log.warning("the database does not answer (%s: %s); starting anyway", type(exc).__name__, exc)
        return True
    return False


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so that `finally` blocks stop the embedded server cleanly."""
    raise SystemExit(128 + signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in client_commands.COMMANDS:
        return client_commands.run(args)
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"registry: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with database_url(config) as dsn:
            if args.command == "migrate":
                print(asyncio.run(_migrate(dsn, args)))
                return 0
            from registry.serve import serve  # the server's modules, only for the server (see below)

            serve(config.with_overrides(database_url=dsn), migrate=_migrate_on_start(config, dsn))
    except (EmbeddedPostgresError, MigrationError, ServeError, ConfigError) as exc:
        print(f"registry: error: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"registry: database error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
