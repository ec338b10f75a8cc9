"""The `indexer` command: index a repository, a directory of repositories, or work the queue.

It shares the registry's database plumbing: DATABASE_URL, else the embedded server, migrated
up before use so the index tables exist.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from indexer.advisories import ImportRefused, import_advisories
from indexer.git import RepositoryError
from indexer.remotes import RemoteSettings
from indexer.scan import ScanLimits
from indexer.worker import WorkerSettings, read_and_scan, run_worker, worker_name
from indexer.writer import WriteOutcome, write_index
from registry.config import Config, ConfigError
from registry.db.bootstrap import database_url, migrate_to_latest
from registry.db.embedded import EmbeddedPostgresError
from registry.db.migrate import MigrationError
from registry.db.pool import create_pool
from registry.domain.record import Record
from registry.ecosystems import LANGUAGES
from registry.git_sources import SourcePolicy
from registry.store.package_index import IndexStatus, index_status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="indexer", description="Wharf's package indexer.")
    parser.add_argument("--data-dir", type=Path, help="embedded PostgreSQL data directory (env WHARF_DATA_DIR)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    one = commands.add_parser("index", help="index one repository (a directory, or a git revision)")
    one.add_argument("path", type=Path)
    one.add_argument("--repo", required=True, metavar="URI", help="the repository's URI, e.g. github.com/owner/name")
    one.add_argument("--revision", help="a git revision to read (default: the directory as it is)")
    many = commands.add_parser("index-all", help="index every child directory of ROOT as a repository")
    many.add_argument("root", type=Path)
    many.add_argument("--uri-prefix", default="", help="prefix for each child's URI (default: its name)")
    work = commands.add_parser("worker", help="index queued repositories until stopped")
    work.add_argument("--lease", type=float, default=600.0, help="seconds a claim is held (default 600)")
    work.add_argument("--poll", type=float, default=2.0, help="seconds between looks at an empty queue")
    work.add_argument("--once", action="store_true", help="stop when the queue is empty")
    status = commands.add_parser("status", help="how much of the package index is filled")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    advisories = commands.add_parser("advisories", help="security advisories (OSV records)")
    advisory_commands = advisories.add_subparsers(dest="advisories_command", required=True, metavar="COMMAND")
    imports = advisory_commands.add_parser(
        "import", help="import OSV records: a JSON file, a directory of them, or a zip (OSV's export)"
    )
    imports.add_argument("path", type=Path)
    return parser


class Indexed(Record):
    """One repository's run: what the writer did, and how many of its files were skipped."""

    outcome: WriteOutcome
    skipped: int

    @property
    def rows(self) -> tuple[int, int, int]:
        """Packages, dependencies and resolved dependencies written (none when the revision was
        already indexed)."""
        outcome = self.outcome
        return (outcome.packages, outcome.dependencies, outcome.resolved) if outcome.written else (0, 0, 0)


async def _index_one(
    conn: asyncpg.Connection, path: Path, uri: str, revision: str | None, limits: ScanLimits
) -> Indexed:
    result, read_revision = await asyncio.to_thread(read_and_scan, str(path), revision, limits)
    outcome = await write_index(conn, uri, read_revision, result, LANGUAGES)
    for problem in result.problems:
        print(f"indexer: skipped {uri}/{problem.path}: {problem.message}", file=sys.stderr)
    return Indexed(outcome, len(result.problems))


async def _index(dsn: str, args: argparse.Namespace, config: Config) -> str:
    await migrate_to_latest(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        indexed = await _index_one(conn, args.path, args.repo, args.revision, scan_limits(config))
    finally:
        await conn.close()
    state = "indexed" if indexed.outcome.written else "unchanged (revision already indexed)"
    packages, dependencies, resolved = indexed.rows
    return f"{args.repo}: {state}; {packages} packages, {dependencies} dependencies, {resolved} resolved"


async def _index_all(dsn: str, args: argparse.Namespace, config: Config) -> str:
    await migrate_to_latest(dsn)
    children = sorted(child for child in args.root.iterdir() if child.is_dir() and not child.name.startswith("."))
    done: list[Indexed] = []
    failures = 0
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("indexing", total=len(children))
            for child in children:
                progress.update(task, description=child.name[:40])
                try:
                    done.append(await _index_one(conn, child, args.uri_prefix + child.name, None, scan_limits(config)))
                except (RepositoryError, OSError) as exc:
                    failures += 1
                    console.print(f"indexer: failed {child.name}: {exc}")
                progress.advance(task)
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    packages = sum(indexed.rows[0] for indexed in done)
    dependencies = sum(indexed.rows[1] for indexed in done)
    resolved = sum(indexed.rows[2] for indexed in done)
    rows = packages + dependencies + resolved
    return (
        f"repos: {len(done)}, packages: {packages}, dependencies: {dependencies}, resolved: {resolved}, "
        f"rows/s: {rows / elapsed if elapsed else 0:.0f}, "
        f"skipped files: {sum(indexed.skipped for indexed in done)}, failures: {failures}"
    )


def scan_limits(config: Config) -> ScanLimits:
    """How much of a repository's lockfiles is indexed, from WHARF_INDEX_MAX_*."""
    return ScanLimits(
        max_lockfile_bytes=config.index_max_lockfile_bytes,
        max_resolved_per_lockfile=config.index_max_resolved_per_lockfile,
        max_resolved_per_repo=config.index_max_resolved_per_repo,
    )


def remote_settings(config: Config) -> RemoteSettings:
    """The sources the worker may read, git's bounds (WHARF_GIT_*) and the lockfiles' (WHARF_INDEX_MAX_*)."""
    return RemoteSettings(
        policy=SourcePolicy(config.git_allowed_schemes, config.git_allowed_hosts, config.git_allow_local),
        mirror_dir=config.git_mirror_dir,
        timeout=config.git_timeout,
        max_bytes=config.git_max_bytes,
        per_host=config.git_per_host,
        limits=scan_limits(config),
    )


async def _worker(dsn: str, args: argparse.Namespace, config: Config) -> str:
    await migrate_to_latest(dsn)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    name = worker_name()
    settings = WorkerSettings(
        lease_seconds=args.lease, poll_seconds=args.poll, exit_when_idle=args.once, remotes=remote_settings(config)
    )
    try:
        logging.getLogger("wharf.indexer").info("worker %s started", name)
        done = await run_worker(pool, stop, settings, name)
    finally:
        await pool.close()
    return f"worker {name}: indexed {done} repositories"


async def _status(dsn: str, as_json: bool) -> str:
    await migrate_to_latest(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        status = await index_status(conn)
    finally:
        await conn.close()
    return orjson.dumps(status).decode() if as_json else _render(status)


async def _import_advisories(dsn: str, path: Path) -> str:
    """Skipped records are named on stderr, one line each, with the reason; the counts go to stdout."""
    await migrate_to_latest(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        counts = await import_advisories(conn, path)
    finally:
        await conn.close()
    for label, reason in counts.skipped:
        print(f"indexer: skipped {label}: {reason}", file=sys.stderr)
    return counts.summary()


def _render(status: IndexStatus) -> str:
    lines = [f"repositories: {status.repos} ({status.indexed_repos} indexed)"]
    lines.append(f"{'language':<10} {'packages':>10} {'dependencies':>13} {'resolved':>10}")
    lines += [f"{c.language:<10} {c.packages:>10} {c.dependencies:>13} {c.resolved:>10}" for c in status.languages]
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
            if args.command == "index":
                output = asyncio.run(_index(dsn, args, config))
            elif args.command == "index-all":
                output = asyncio.run(_index_all(dsn, args, config))
            elif args.command == "worker":
                output = asyncio.run(_worker(dsn, args, config))
            elif args.command == "advisories":
                output = asyncio.run(_import_advisories(dsn, args.path))
            else:
                output = asyncio.run(_status(dsn, args.json))
    except (
        EmbeddedPostgresError,
        MigrationError,
        RepositoryError,
        ImportRefused,
        OSError,
        asyncpg.PostgresError,
    ) as exc:
        print(f"indexer: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
