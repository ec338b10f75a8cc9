"""Two workers and a reader at once: reads see one whole index; no revision is written twice."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import asyncpg

from indexer.remotes import RemoteSettings
from indexer.worker import WorkerSettings, run_worker
from registry.db.pool import create_pool
from registry.git_sources import SourcePolicy
from registry.store import index_queue
from registry.store import package_index as index_store

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@e",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@e",
}


def _git_repo(path: Path, generations: list[dict[str, str]]) -> list[str]:
    """A git repository whose successive commits declare these dependencies; their shas."""
    path.mkdir()
    subprocess.run(["git", "-C", str(path), "init", "-q"], env=GIT_ENV, check=True)
    shas = []
    for deps in generations:
        (path / "package.json").write_text(json.dumps({"name": path.name, "dependencies": deps}))
        subprocess.run(["git", "-C", str(path), "add", "-A"], env=GIT_ENV, check=True)
        subprocess.run(["git", "-C", str(path), "commit", "-qm", "c"], env=GIT_ENV, check=True)
        shas.append(
            subprocess.run(
                ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    return shas


async def test_two_workers_and_a_reader(fresh_db_url: str, tmp_path: Path) -> None:
    old = {f"old-{n}": "^1.0.0" for n in range(40)}
    new = {f"new-{n}": "^2.0.0" for n in range(25)}
    db = await asyncpg.connect(fresh_db_url)
    repos = {}
    for n in range(6):
        shas = _git_repo(tmp_path / f"r{n}", [old, new])
        repo_id = await index_store.ensure_repo(db, f"example.com/r{n}")
        repos[repo_id] = (tmp_path / f"r{n}", shas)
        await index_queue.enqueue(db, repo_id, str(tmp_path / f"r{n}"), shas[0])
    pool = await create_pool(fresh_db_url, min_size=1, max_size=6)
    local = RemoteSettings(policy=SourcePolicy(allow_local=True))  # the queue holds local paths
    settings = WorkerSettings(poll_seconds=0.01, exit_when_idle=True, remotes=local)
    done = asyncio.Event()
    mixes: list[set[str]] = []
    written: list[list[asyncpg.Record]] = []
    reads = 0

    async def reader() -> None:
        nonlocal reads
        conn = await asyncpg.connect(fresh_db_url)
        try:
            while not done.is_set():
                for repo_id in repos:
                    rows = await conn.fetch("SELECT package FROM global_dep WHERE repo_id = $1", repo_id)
                    kinds = {row["package"].split("-")[0] for row in rows}
                    if len(kinds) > 1 or (kinds and len(rows) not in (40, 25)):
                        mixes.append(kinds)
                    reads += 1
                await asyncio.sleep(0)
        finally:
            await conn.close()

    async def workers() -> list[int]:
        first = await asyncio.gather(*(run_worker(pool, asyncio.Event(), settings, f"w{n}") for n in range(2)))
        for repo_id, (path, shas) in repos.items():  # the next revision, then the same one again
            await index_queue.enqueue(db, repo_id, str(path), shas[1])
        second = await asyncio.gather(*(run_worker(pool, asyncio.Event(), settings, f"w{n}") for n in range(2)))
        written.append(await db.fetch("SELECT id, updated_at FROM repo ORDER BY id"))
        for repo_id, (path, shas) in repos.items():
            await index_queue.enqueue(db, repo_id, str(path), shas[1])
        third = await asyncio.gather(*(run_worker(pool, asyncio.Event(), settings, f"w{n}") for n in range(2)))
        written.append(await db.fetch("SELECT id, updated_at FROM repo ORDER BY id"))
        done.set()
        return [sum(first), sum(second), sum(third)]

    try:
        counts, _ = await asyncio.gather(workers(), reader())
        assert counts == [6, 6, 6], "every queued request is worked once"
        assert written[0] == written[1], "a revision already indexed is not written again"
        assert mixes == [], "no read saw two indexes of one repository"
        assert reads > 0
        revisions = await db.fetch("SELECT id, indexed_revision FROM repo WHERE id = ANY($1::int[])", list(repos))
        assert {row["id"]: row["indexed_revision"] for row in revisions} == {
            rid: shas[1] for rid, (_, shas) in repos.items()
        }
        assert await db.fetchval("SELECT count(*) FROM global_dep") == 6 * 25
    finally:
        await pool.close()
        await db.close()
