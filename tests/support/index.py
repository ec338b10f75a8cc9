"""Building index content for tests, through the real writer."""

from __future__ import annotations

import asyncio

import asyncpg

from indexer.remotes import RemoteSettings
from indexer.scan import Scan
from indexer.worker import WorkerSettings, run_worker
from indexer.writer import WriteOutcome, write_index
from registry.db.pool import create_pool
from registry.ecosystems import LANGUAGES
from registry.ecosystems.base import Dependency, PackageDef
from registry.store import index_queue
from registry.store import package_index as index_store
from registry.store.index_queue import QueueEntry


def scan_of(
    deps: list[tuple[str, str, str]] | None = None,
    packages: list[tuple[str, str, str | None]] | None = None,
    path: str = "package.json",
    dep_type: str = "dependencies",
) -> Scan:
    """deps: (language, package, declared range); packages: (language, name, version)."""
    result = Scan()
    result.dependencies = [
        (lang, Dependency(pkg, declared_range, dep_type, path)) for lang, pkg, declared_range in deps or []
    ]
    result.packages = [(lang, PackageDef(name, version, path)) for lang, name, version in packages or []]
    return result


async def index_repo(db: asyncpg.Connection, uri: str, scan: Scan, revision: str | None = None) -> WriteOutcome:
    return await write_index(db, uri, revision, scan, LANGUAGES)


async def work_the_queue(
    db_url: str,
    source: str,
    *,
    uri: str,
    remotes: RemoteSettings,
    credentials: str | None = None,
    revision: str | None = None,
) -> QueueEntry | None:
    """Queue `source` and let one real worker work the queue dry: the queue entry left (None: indexed)."""
    conn = await asyncpg.connect(db_url)
    pool = await create_pool(db_url, min_size=1, max_size=2)
    try:
        repo_id = await index_store.ensure_repo(conn, uri)
        await index_queue.enqueue(conn, repo_id, source, revision, credentials)
        settings = WorkerSettings(poll_seconds=0.01, exit_when_idle=True, remotes=remotes)
        await run_worker(pool, asyncio.Event(), settings, "w")
        return await index_queue.queue_entry(conn, repo_id)
    finally:
        await pool.close()
        await conn.close()
