"""Counting bundle downloads without a write per request, exactly across any number of nodes.

Fetches are noted in memory and flushed in one transaction every few seconds
(`WHARF_DOWNLOADS_FLUSH_SECONDS`) and at shutdown (SIGTERM and SIGINT run the app's cleanup,
which flushes). A crash or SIGKILL loses what was noted since the last flush, at most one
interval: statistics, not records.

One client counts at most once per release per window (`WHARF_DOWNLOAD_COUNT_WINDOW`, an hour by
default): a loop fetching one bundle would otherwise inflate its count without bound. A client is
its address as registry.client_address reads it (an IPv6 /64 counts as one). Between flushes a
process keeps each (release, client) pair it saw once; the flush asks the database which of them
count (`download_clients`, migration 9: when each pair last counted, on any node), and adds those
to the daily and total counts in the same transaction. So a client fetching through N nodes
counts once per window, and N nodes' counts add up exactly. The window is measured at flushes, by
the database's clock: a pair's two downloads count twice when their flushes are a window apart,
which their fetches may be by up to one flush interval less. Someone holding many addresses still
counts once per address: download counts are popularity hints, not billing records.

With a window of 0 every download counts and nothing is remembered. Memory is bounded: past
`max_pending` pairs waiting for a flush (a database away for long), new ones are dropped, and
logged; the table is pruned by each flush of up to twice the pairs it wrote (at least 1,000).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg

from registry.client_address import address_key
from registry.store.downloads import add_downloads, first_downloads, prune_download_clients

log = logging.getLogger("wharf.downloads")

_MIN_PRUNE = 1000  # pairs a flush may forget, at least


class DownloadCounter:
    def __init__(self, window: float = 3600.0, *, max_pending: int = 200_000) -> None:
        self._window = window
        self._max_pending = max_pending
        self._counts: Counter[tuple[int, date]] = Counter()  # window 0: (release, day) -> downloads
        self._seen: dict[tuple[int, str], date] = {}  # (release, client) -> the day first seen
        self._dropped = 0

    def count(self, release_id: int, client: str | None) -> None:
        """Note a download of `release_id` by `client` (an address); the next flush decides
        whether it counts."""
        if self._window <= 0:
            self._counts[(release_id, datetime.now(UTC).date())] += 1
            return
        key = (release_id, address_key(client))
        if key not in self._seen:  # the day only for a pair not yet noted: most downloads repeat one
            if len(self._seen) >= self._max_pending:
                self._dropped += 1
                return
            self._seen[key] = datetime.now(UTC).date()

    @property
    def pending(self) -> int:
        """Downloads waiting for a flush; with a window, one per (release, client)."""
        return sum(self._counts.values()) + len(self._seen)

    async def flush(self, pool: asyncpg.Pool) -> int:
        """Write what counts of what was noted; how many downloads counted. On failure, what was
        noted is kept for the next attempt (the transaction wrote nothing)."""
        counts, self._counts = self._counts, Counter()
        seen, self._seen = self._seen, {}
        if self._dropped:
            log.warning("%d downloads not noted: %d were waiting for a flush", self._dropped, self._max_pending)
            self._dropped = 0
        if not counts and not seen:
            return 0
        try:
            async with pool.acquire() as conn, conn.transaction():
                counted = counts.copy()
                if seen:
                    fresh = await first_downloads(conn, list(seen), self._window)
                    counted.update((release_id, seen[(release_id, client)]) for release_id, client in fresh)
                    await prune_download_clients(conn, self._window, max(_MIN_PRUNE, 2 * len(seen)))
                if counted:
                    await add_downloads(conn, [(release_id, day, n) for (release_id, day), n in counted.items()])
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            self._counts.update(counts)
            self._seen = {**self._seen, **seen}  # the earlier day of a pair seen again meanwhile
            log.warning("download counts not written; will retry", exc_info=True)
            return 0
        return sum(counted.values())

    @contextlib.asynccontextmanager
    async def flushing(self, pool: asyncpg.Pool, every: float) -> AsyncIterator[None]:
        """Flush every `every` seconds while open, and once more when closed.

        Closing lets a flush in flight finish rather than cancelling it: `flush` has already taken
        the noted downloads out of memory, so a cancelled flush would lose them (a node stopped by
        SIGTERM mid-flush dropped a whole interval's downloads)."""
        closing = asyncio.Event()

        async def loop() -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(closing.wait(), every)
                if closing.is_set():
                    return
                try:
                    await self.flush(pool)
                except Exception:  # a bug must not end the counting for the process's lifetime
                    log.exception("download flush failed")

        task = asyncio.create_task(loop(), name="wharf-download-flush")
        try:
            yield
        finally:
            closing.set()
            await task
            await self.flush(pool)
