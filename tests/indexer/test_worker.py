"""Workers share one queue with SKIP LOCKED and leases: each revision is indexed once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from indexer.remotes import RemoteSettings
from indexer.worker import WorkerSettings, run_worker
from registry.db.pool import create_pool
from registry.git_sources import SourcePolicy
from registry.store import index_queue
from registry.store import package_index as index_store

# The operator's WHARF_GIT_ALLOW_LOCAL: these tests queue local paths, off by default.
LOCAL = RemoteSettings(policy=SourcePolicy(allow_local=True))


def _repo(root: Path, name: str, deps: dict[str, str]) -> Path:
    path = root / name
    path.mkdir()
    import json

    (path / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", "dependencies": deps}))
    return path


async def _work_the_queue_once(db_url: str, remotes: RemoteSettings) -> int:
    """One worker until the queue is empty: how many repositories it indexed."""
    pool = await create_pool(db_url, min_size=1, max_size=2)
    try:
        settings = WorkerSettings(poll_seconds=0.01, exit_when_idle=True, remotes=remotes)
        return await run_worker(pool, asyncio.Event(), settings, "w")
    finally:
        await pool.close()


async def _queue(db: asyncpg.Connection, uri: str, source: Path) -> int:
    repo_id = await index_store.ensure_repo(db, uri)
    await index_queue.enqueue(db, repo_id, str(source), None)
    return repo_id


async def test_two_workers_index_every_queued_repository_once(fresh_db_url: str, tmp_path: Path) -> None:
    db = await asyncpg.connect(fresh_db_url)
    for n in range(8):
        await _queue(db, f"example.com/r{n}", _repo(tmp_path, f"r{n}", {"lodash": f"^4.{n}.0"}))
    pool = await create_pool(fresh_db_url, min_size=1, max_size=4)
    settings = WorkerSettings(poll_seconds=0.01, exit_when_idle=True, remotes=LOCAL)
    try:
        counts = await asyncio.gather(
            run_worker(pool, asyncio.Event(), settings, "w1"), run_worker(pool, asyncio.Event(), settings, "w2")
        )
        assert sum(counts) == 8
        assert await db.fetchval("SELECT count(*) FROM repo_index_queue") == 0
        assert await db.fetchval("SELECT count(*) FROM global_dep") == 8
        assert await db.fetchval("SELECT count(DISTINCT repo_id) FROM pkgs") == 8
    finally:
        await pool.close()
        await db.close()


async def test_a_crashed_workers_claim_expires(fresh_db_url: str, tmp_path: Path) -> None:
    db = await asyncpg.connect(fresh_db_url)
    await _queue(db, "example.com/r", _repo(tmp_path, "r", {"a": "1"}))
    crashed = await index_queue.claim_next(db, "crashed", lease_seconds=0.2)
    assert crashed is not None
    assert await index_queue.claim_next(db, "other", lease_seconds=60) is None, "held while the lease runs"
    await asyncio.sleep(0.3)
    taken = await index_queue.claim_next(db, "other", lease_seconds=60)
    assert taken is not None
    assert taken.attempts == 2
    await db.close()


async def test_a_failing_repository_is_retried_later_with_its_error(fresh_db_url: str, tmp_path: Path) -> None:
    db = await asyncpg.connect(fresh_db_url)
    repo_id = await _queue(db, "example.com/gone", tmp_path / "does-not-exist")
    done = await _work_the_queue_once(fresh_db_url, LOCAL)
    entry = await index_queue.queue_entry(db, repo_id)
    assert done == 0
    assert entry is not None
    assert "not a directory" in (entry.last_error or "")
    assert await db.fetchval("SELECT available_at > now() FROM repo_index_queue") is True
    await db.close()


async def test_a_local_path_in_the_queue_is_refused_unless_the_operator_allows_it(
    fresh_db_url: str, tmp_path: Path
) -> None:
    """The API refuses local paths when they are queued; the worker refuses them again, whoever
    wrote the queue (defence in depth)."""
    db = await asyncpg.connect(fresh_db_url)
    repo_id = await _queue(db, "example.com/r", _repo(tmp_path, "r", {"a": "1"}))
    done = await _work_the_queue_once(fresh_db_url, RemoteSettings())
    entry = await index_queue.queue_entry(db, repo_id)
    assert done == 0
    assert entry is not None
    assert "local paths are not allowed" in (entry.last_error or "")
    assert await db.fetchval("SELECT count(*) FROM global_dep") == 0
    await db.close()


async def test_requeueing_during_a_run_keeps_the_new_request(fresh_db_url: str, tmp_path: Path) -> None:
    db = await asyncpg.connect(fresh_db_url)
    source = _repo(tmp_path, "r", {"a": "1"})
    repo_id = await _queue(db, "example.com/r", source)
    job = await index_queue.claim_next(db, "w", lease_seconds=60)
    assert job is not None
    await index_queue.enqueue(db, repo_id, str(source), "v2")  # someone asks for another revision
    await index_queue.complete(db, job, "w")
    entry = await index_queue.queue_entry(db, repo_id)
    assert entry is not None
    assert (entry.revision, entry.claimed_by) == ("v2", None)
    await db.close()
