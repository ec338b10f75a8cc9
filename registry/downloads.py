"""Counting bundle downloads without a write per request.

Fetches are counted in memory per (release, UTC day) and flushed in one statement every few
seconds and at shutdown. A crash loses at most one interval's counts: statistics, not records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg

from registry.store.downloads import add_downloads

log = logging.getLogger("wharf.downloads")


class DownloadCounter:
    def __init__(self) -> None:
        self._counts: Counter[tuple[int, date]] = Counter()

    def count(self, release_id: int) -> None:
        self._counts[(release_id, datetime.now(UTC).date())] += 1

    @property
    def pending(self) -> int:
        return sum(self._counts.values())

    async def flush(self, pool: asyncpg.Pool) -> int:
        """Write what was counted; on failure the counts are kept for the next attempt."""
        counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        try:
            async with pool.acquire() as conn:
                await add_downloads(conn, [(release_id, day, n) for (release_id, day), n in counts.items()])
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            self._counts.update(counts)
            log.warning("download counts not written; will retry", exc_info=True)
            return 0
        return sum(counts.values())

    @contextlib.asynccontextmanager
    async def flushing(self, pool: asyncpg.Pool, every: float) -> AsyncIterator[None]:
        """Flush every `every` seconds while open, and once more when closed."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(every)
                await self.flush(pool)

        task = asyncio.create_task(loop(), name="wharf-download-flush")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.flush(pool)
