"""Counting bundle downloads without a write per request.

Fetches are counted in memory per (release, UTC day) and flushed in one statement every few
seconds and at shutdown. A crash loses at most one interval's counts: statistics, not records.

One client counts at most once per release per window (`WHARF_DOWNLOAD_COUNT_WINDOW`, an hour by
default): a loop fetching one bundle would otherwise inflate its count without bound. A client is
its address as registry.client_address reads it (an IPv6 /64 counts as one). What was counted is
remembered in memory, in each process, up to `max_clients` (client, release) pairs, the oldest
forgotten first; so with N processes a client counts at most N times per window, and someone
holding many addresses still counts once per address. Download counts are popularity hints, not
billing records: this bounds what one client adds, it does not authenticate downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime

import asyncpg

from registry.client_address import address_key
from registry.store.downloads import add_downloads

log = logging.getLogger("wharf.downloads")


class DownloadCounter:
    def __init__(
        self, window: float = 3600.0, *, max_clients: int = 200_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._counts: Counter[tuple[int, date]] = Counter()
        self._window = window
        self._max_clients = max_clients
        self._clock = clock
        self._counted: OrderedDict[tuple[str, int], float] = OrderedDict()  # (client, release) -> when

    def count(self, release_id: int, client: str | None) -> bool:
        """Count a download of `release_id` by `client` (an address) unless that client's last one
        counted less than a window ago; whether it counted."""
        now = self._clock()
        while self._counted:  # forget pairs whose window has passed (oldest first)
            oldest, stamp = next(iter(self._counted.items()))
            if stamp > now - self._window and len(self._counted) < self._max_clients:
                break
            del self._counted[oldest]
        key = (address_key(client), release_id)
        if key in self._counted:
            return False
        if self._window > 0:
            self._counted[key] = now
        self._counts[(release_id, datetime.now(UTC).date())] += 1
        return True

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
