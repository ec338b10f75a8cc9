"""The indexing queue: repositories waiting for a worker, claimed with SKIP LOCKED and a lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Job:
    repo_id: int
    uri: str
    source: str
    revision: str | None
    attempts: int


@dataclass(frozen=True)
class QueueEntry:
    source: str
    revision: str | None
    requested_at: datetime
    claimed_by: str | None
    claimed_until: datetime | None
    attempts: int
    last_error: str | None


async def ensure_repo(conn: asyncpg.Connection, uri: str) -> int:
    repo_id: int = await conn.fetchval(
        "-- source: registry/store/index_queue.py:ensure_repo\n"
        "INSERT INTO repo (uri) VALUES ($1) ON CONFLICT (uri) DO UPDATE SET uri = repo.uri RETURNING id",
        uri,
    )
    return repo_id


async def enqueue(conn: asyncpg.Connection, repo_id: int, source: str, revision: str | None) -> None:
    """Queue (or re-queue) a repository; a claim in progress is left to finish."""
    await conn.execute(
        "-- source: registry/store/index_queue.py:enqueue\n"
        "INSERT INTO repo_index_queue (repo_id, source, revision) VALUES ($1, $2, $3)"
        " ON CONFLICT (repo_id) DO UPDATE SET source = EXCLUDED.source, revision = EXCLUDED.revision,"
        "   requested_at = now(), available_at = now(), attempts = 0, last_error = NULL",
        repo_id,
        source,
        revision,
    )


async def queue_entry(conn: asyncpg.Connection, repo_id: int) -> QueueEntry | None:
    row = await conn.fetchrow(
        "-- source: registry/store/index_queue.py:queue_entry\n"
        "SELECT source, revision, requested_at, claimed_by, claimed_until, attempts, last_error"
        " FROM repo_index_queue WHERE repo_id = $1",
        repo_id,
    )
    return QueueEntry(**dict(row)) if row else None


async def claim_next(conn: asyncpg.Connection, worker: str, lease_seconds: float) -> Job | None:
    """Claim the oldest ready repository nobody holds (or whose holder's lease ran out)."""
    row = await conn.fetchrow(
        "-- source: registry/store/index_queue.py:claim_next\n"
        "UPDATE repo_index_queue q SET claimed_by = $1, claimed_until = now() + make_interval(secs => $2),"
        "       attempts = q.attempts + 1"
        "  FROM repo r"
        " WHERE q.repo_id = (SELECT repo_id FROM repo_index_queue"
        "                     WHERE available_at <= now() AND (claimed_until IS NULL OR claimed_until < now())"
        "                     ORDER BY available_at, requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
        "   AND r.id = q.repo_id"
        " RETURNING q.repo_id, r.uri::text, q.source, q.revision, q.attempts",
        worker,
        lease_seconds,
    )
    return Job(**dict(row)) if row else None


async def complete(conn: asyncpg.Connection, job: Job, worker: str) -> None:
    """Done: leave the queue, unless the repository was re-queued for another revision meanwhile."""
    await conn.execute(
        "-- source: registry/store/index_queue.py:complete\n"
        "WITH done AS (DELETE FROM repo_index_queue WHERE repo_id = $1 AND claimed_by = $2"
        "                AND revision IS NOT DISTINCT FROM $3 AND source = $4 RETURNING repo_id)"
        " UPDATE repo_index_queue SET claimed_by = NULL, claimed_until = NULL"
        "  WHERE repo_id = $1 AND claimed_by = $2 AND NOT EXISTS (SELECT FROM done)",
        job.repo_id,
        worker,
        job.revision,
        job.source,
    )


async def fail(conn: asyncpg.Connection, job: Job, worker: str, error: str, retry_in_seconds: float) -> None:
    await conn.execute(
        "-- source: registry/store/index_queue.py:fail\n"
        "UPDATE repo_index_queue SET claimed_by = NULL, claimed_until = NULL, last_error = $3,"
        "       available_at = now() + make_interval(secs => $4)"
        " WHERE repo_id = $1 AND claimed_by = $2",
        job.repo_id,
        worker,
        error[:2000],
        retry_in_seconds,
    )
