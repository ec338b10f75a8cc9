"""The indexing queue (`repo_index_queue`): repositories waiting for a worker, claimed with SKIP
LOCKED and a lease."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow

_SQL = queries.load(__file__)

MAX_ERROR = 2000  # characters of an indexing error kept for the queue's readers


class Job(FromRow):
    repo_id: int
    uri: str
    source: str  # never with credentials (registry.git_sources): safe to log and show
    credentials: str | None = field(repr=False)
    revision: str | None
    attempts: int


class QueueEntry(FromRow):
    source: str
    revision: str | None
    requested_at: datetime
    claimed_by: str | None
    claimed_until: datetime | None
    attempts: int
    last_error: str | None


async def enqueue(
    conn: asyncpg.Connection, repo_id: int, source: str, revision: str | None, credentials: str | None = None
) -> None:
    """Queue (or re-queue) a repository; a claim in progress is left to finish. `source` is shown
    to readers of the queue; `credentials` only to the workers' claim."""
    await _SQL.enqueue.execute(conn, repo_id=repo_id, source=source, credentials=credentials, revision=revision)


async def requeue(conn: asyncpg.Connection, repo_id: int, revision: str | None) -> str | None:
    """Queue a queued repository again, keeping its source and credentials; its source, or None
    when it is not in the queue."""
    source: str | None = await _SQL.requeue.fetchval(conn, repo_id=repo_id, revision=revision)
    return source


async def queue_entry(conn: asyncpg.Connection, repo_id: int) -> QueueEntry | None:
    return await _SQL.queue_entry.one(conn, QueueEntry, repo_id=repo_id)


async def claim_next(conn: asyncpg.Connection, worker: str, lease_seconds: float) -> Job | None:
    """Claim the oldest ready repository nobody holds (or whose holder's lease ran out)."""
    return await _SQL.claim_next.one(conn, Job, worker=worker, lease_seconds=lease_seconds)


async def complete(conn: asyncpg.Connection, job: Job, worker: str) -> None:
    """Done: leave the queue, unless the repository was re-queued for another revision meanwhile."""
    await _SQL.complete.execute(
        conn,
        repo_id=job.repo_id,
        worker=worker,
        revision=job.revision,
        source=job.source,
        credentials=job.credentials,
    )


async def fail(conn: asyncpg.Connection, job: Job, worker: str, error: str, retry_in_seconds: float) -> None:
    await _SQL.fail.execute(
        conn, repo_id=job.repo_id, worker=worker, error=error[:MAX_ERROR], retry_in_seconds=retry_in_seconds
    )
