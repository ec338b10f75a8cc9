"""The download counter against a real database: what it noted reaches the table even when the
server stops in the middle of a flush."""

from __future__ import annotations

import asyncio

import asyncpg

from registry.db.pool import create_pool
from registry.download_counter import DownloadCounter
from registry.store import extensions as extension_store
from registry.store.publishers import Publisher
from tests.support.eventually import eventually
from tests.support.factories import make_user


async def _release(db: asyncpg.Connection) -> int:
    """alice/wc 1.0.0, written as the publish service would leave it."""
    alice = await make_user(db, "alice")
    extension = await extension_store.create_extension(db, Publisher(alice.username, alice.id, None), "wc")
    assert extension is not None
    release_id: int = await db.fetchval(
        "INSERT INTO registry_extension_releases (registry_extension_id, creator_user_id, release_version,"
        " release_tag, manifest, bundle, bundle_sha256) VALUES ($1, $2, '1.0.0', 'release', '{}', 'x',"
        " sha256('x')) RETURNING id",
        extension.id,
        alice.id,
    )
    return release_id


async def test_a_flush_in_flight_when_the_server_stops_still_writes_its_downloads(
    db_url: str, db: asyncpg.Connection
) -> None:
    release_id = await _release(db)
    pool = await create_pool(db_url, min_size=1, max_size=2)
    counter = DownloadCounter(window=0)
    try:
        blocker = await asyncpg.connect(db_url)
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT 1 FROM registry_extensions FOR UPDATE")  # the flush's UPDATE waits
        flushing = counter.flushing(pool, every=0.01)
        await flushing.__aenter__()
        for _ in range(3):
            counter.count(release_id, "192.0.2.1")

        async def flush_waits_on_the_lock() -> bool:
            waiting = await db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%downloads%'"
            )
            return bool(waiting)

        await eventually(flush_waits_on_the_lock, "the flush waits on the lock")
        stopping = asyncio.create_task(flushing.__aexit__(None, None, None))  # SIGTERM's cleanup
        await asyncio.sleep(0.1)
        await transaction.rollback()
        await blocker.close()
        await asyncio.wait_for(stopping, 10)
    finally:
        await pool.close()
    assert await db.fetchval("SELECT downloads FROM registry_extensions") == 3
    assert counter.pending == 0
