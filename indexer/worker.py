"""The indexing worker: claim a queued repository, index it, repeat, until told to stop.

Claims use `FOR UPDATE SKIP LOCKED` with a lease, so any number of workers on any number of
hosts share one queue with no coordinator; a worker that dies holding a claim loses it when
the lease runs out. On SIGINT/SIGTERM a worker finishes the repository in hand and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from pathlib import Path

import asyncpg

from indexer.git import RepositoryError
from indexer.reader import open_repository
from indexer.remotes import Remotes, RemoteSettings
from indexer.scan import Scan, ScanLimits, scan
from indexer.writer import WriteOutcome, write_index
from registry.domain.record import Record
from registry.ecosystems import LANGUAGES
from registry.git_sources import redact, secrets_of
from registry.store import index_queue
from registry.store.index_queue import Job

log = logging.getLogger("wharf.indexer.worker")


class WorkerSettings(Record):
    lease_seconds: float = 600.0
    poll_seconds: float = 2.0
    retry_seconds: float = 60.0
    exit_when_idle: bool = False  # `indexer worker --once`: stop at the first empty look
    remotes: RemoteSettings = RemoteSettings()  # the sources allowed, and git's bounds


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def read_and_scan(source: str, revision: str | None, limits: ScanLimits | None = None) -> tuple[Scan, str | None]:
    """A local path, as the operator's `indexer index PATH` reads it (no policy: the operator's
    own shell). Blocking: runs in a thread. Returns the scan and the revision actually read."""
    repository = open_repository(Path(source), revision)
    return scan(repository, limits), getattr(repository, "commit", revision)


async def index_job(pool: asyncpg.Pool, job: Job, remotes: Remotes) -> WriteOutcome:
    result, revision = await remotes.read_and_scan(job.source, job.credentials, job.revision)
    async with pool.acquire() as conn:
        return await write_index(conn, job.uri, revision, result, LANGUAGES)


async def run_worker(
    pool: asyncpg.Pool, stop: asyncio.Event, settings: WorkerSettings, name: str, remotes: Remotes | None = None
) -> int:
    """Work until `stop` is set; returns how many repositories were indexed. Workers of one
    process share `remotes` (its per-host bound); without it, this worker has its own."""
    remotes = remotes or Remotes(settings.remotes)
    done = 0
    while not stop.is_set():
        async with pool.acquire() as conn:
            job = await index_queue.claim_next(conn, name, settings.lease_seconds)
        if job is None:
            if settings.exit_when_idle:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.poll_seconds)
            continue
        try:
            outcome = await index_job(pool, job, remotes)
        except (RepositoryError, OSError, asyncpg.PostgresError) as exc:
            error = redact(str(exc), secrets_of(job.credentials))  # the messages are redacted; once more here
            log.warning("indexing %s failed: %s", job.uri, error)
            async with pool.acquire() as conn:
                await index_queue.fail(conn, job, name, error, settings.retry_seconds)
            continue
        async with pool.acquire() as conn:
            await index_queue.complete(conn, job, name)
        done += 1
        log.info(
            "indexed %s: %s", job.uri,
            f"{outcome.packages} packages, {outcome.dependencies} dependencies, {outcome.resolved} resolved"
            if outcome.written else "revision already indexed",
        )  # fmt: skip
    return done
