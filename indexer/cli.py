"""The `indexer` command. It shares the registry's database plumbing: DATABASE_URL, else the
embedded server, migrated up before use so the index tables exist."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import orjson

from indexer.store import IndexStatus, index_status
from registry.config import Config, ConfigError
from registry.db.bootstrap import database_url, migrate_to_latest
from registry.db.embedded import EmbeddedPostgresError
from registry.db.migrate import MigrationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="indexer", description="Wharf's package indexer.")
    parser.add_argument("--data-dir", type=Path, help="embedded PostgreSQL data directory (env WHARF_DATA_DIR)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    status = commands.add_parser("status", help="how much of the package index is filled")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


async def _status(dsn: str) -> IndexStatus:
    await migrate_to_latest(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        return await index_status(conn)
    finally:
        await conn.close()


def _render(status: IndexStatus) -> str:
    lines = [f"repositories: {status.repos} ({status.indexed_repos} indexed)"]
    lines.append(f"{'language':<10} {'packages':>10} {'dependencies':>13}")
    lines += [f"{c.language:<10} {c.packages:>10} {c.dependencies:>13}" for c in status.languages]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = Config.from_env().with_overrides(data_dir=args.data_dir)
    except ConfigError as exc:
        print(f"indexer: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        with database_url(config) as dsn:
            status = asyncio.run(_status(dsn))
    except (EmbeddedPostgresError, MigrationError, OSError, asyncpg.PostgresError) as exc:
        print(f"indexer: error: {exc}", file=sys.stderr)
        return 1
    print(orjson.dumps(status).decode() if args.json else _render(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
