"""A small in-process cache, bounded in time and size, kept coherent across nodes.

Each entry carries tags naming what it was read from (`extension:12`,
`dependents:npm:lodash`); an invalidation (registry.db.invalidation: a notification from any
node's write, or this node's own write at once) drops the entries its payload names. The time
bound is a second line of defence, not the coherence mechanism.

A value loaded while an invalidation happened is returned but not kept: it may have been read
before the change committed, and keeping it would undo the invalidation.

A request that carries a read floor (its client wrote moments ago, on this node or another:
registry.db.lsn) is not answered from the cache: this node may not have heard of that write yet,
and the database, read at the floor, has it. Such requests are few (a client's next minute after
a write), so the cache keeps its hit ratio.

Concurrent misses of one key share one load (a popular key expiring would otherwise send every
request in flight to the database at once). With `refresh_behind`, an entry that only its time
bound made old is still answered while one reload runs behind it: a popular package's per-range
counts take tens of milliseconds at 10^6 rows and ten times that at 10^7, and every request
waiting for them set the API's p99 (bench/bench_dependents.py). An announced change still drops
the entry and forgets the load in flight, so no request after a change is answered from before it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from registry.db.lsn import CURRENT_FLOOR

V = TypeVar("V")

Tagger = Callable[[Hashable, V], Iterable[str]]

REFRESH_SHARE = 200  # a value reloaded behind the requests costs at most 1/200 of the time
MAX_STRETCH = 12  # ... and lives at most 12 times the cache's time bound


def _untagged(key: Hashable, value: object) -> Iterable[str]:
    return ()


def _must_read_fresh() -> bool:
    floor = CURRENT_FLOOR.get()
    return floor is not None and floor.floor > 0


class TtlCache(Generic[V]):
    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        tags: Tagger[V] = _untagged,
        weigh: Callable[[V], int] | None = None,
        max_weight: int = 0,
        refresh_behind: bool = False,
    ) -> None:
        """`weigh` (with `max_weight`): also bound the entries' total weight (their bytes, say),
        dropping the least recently used first; a value heavier than the bound is not kept, so a
        bound of 0 keeps nothing."""
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._tags_of = tags
        self._weigh = weigh
        self._max_weight = max_weight
        self.weight = 0
        self._entries: OrderedDict[Hashable, tuple[float, V, tuple[str, ...], int]] = OrderedDict()
        self._tagged: dict[str, set[Hashable]] = {}
        self._generation = 0
        self._suspended = False
        self._refresh_behind = refresh_behind
        self._loading: dict[Hashable, asyncio.Future[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        if _must_read_fresh() or self._suspended:  # its own load: read at its floor, kept if not suspended
            return await self._load_and_keep(key, load, self._generation)
        found = self._entries.get(key)
        if found is not None and found[0] > self._clock():
            self._entries.move_to_end(key)
            return found[1]
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load_and_keep(key, load, self._generation))
            self._loading[key] = loading
            loading.add_done_callback(lambda done: self._loaded(key, done))
        if found is not None and self._refresh_behind:
            return found[1]  # old by time alone (a change would have dropped it): the reload runs behind
        return await asyncio.shield(loading)  # a waiter cancelled does not cancel the others' load

    async def _load_and_keep(self, key: Hashable, load: Callable[[], Awaitable[V]], generation: int) -> V:
        started = self._clock()
        value = await load()
        if generation == self._generation and not self._suspended:
            now = self._clock()
            self._keep(key, now + self._lifetime(now - started), value)
        return value

    def _lifetime(self, load_seconds: float) -> float:
        """How long an entry is kept before time alone makes it old. With `refresh_behind`, a
        costly value lives longer: its reloads behind the requests take at most 1/REFRESH_SHARE of
        the time (a popular package's counts take ~0.1 s at 10^7 rows; reloaded every 5 s by each
        worker, those reloads set the API's p99, bench/bench_dependents.py), up to
        MAX_STRETCH times the bound. Announced changes still drop it at once: the time bound is
        the second line of defence (the module's docstring), and stretching it costs nothing else."""
        if not self._refresh_behind:
            return self._ttl
        return max(self._ttl, min(load_seconds * REFRESH_SHARE, self._ttl * MAX_STRETCH))

    def _loaded(self, key: Hashable, done: asyncio.Future[V]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if not done.cancelled():
            done.exception()  # a reload nobody awaited: its failure is the next request's to meet

    def invalidate(self, payload: str) -> None:
        """Drop the entries tagged `payload`; `kind:*` drops every entry with a tag of that kind.
        Loads in flight are forgotten (what they read may predate the change): the next request
        starts its own."""
        self._generation += 1
        self._loading.clear()
        if payload.endswith(":*"):
            prefix = payload[:-1]
            doomed = {key for tag, keys in self._tagged.items() if tag.startswith(prefix) for key in keys}
        else:
            doomed = set(self._tagged.get(payload, ()))
        for key in doomed:
            self._drop(key)

    def clear(self) -> None:
        self._generation += 1
        self._loading.clear()
        self._entries.clear()
        self._tagged.clear()
        self.weight = 0

    def suspend(self, suspended: bool) -> None:
        self._suspended = suspended
        if suspended:
            self.clear()

    def _keep(self, key: Hashable, expires: float, value: V) -> None:
        self._drop(key)
        weight = 0 if self._weigh is None else self._weigh(value)
        if self._weigh is not None and weight > self._max_weight:
            return  # heavier than the whole bound (a bound of 0 keeps nothing)
        tags = tuple(self._tags_of(key, value))
        self._entries[key] = (expires, value, tags, weight)
        self.weight += weight
        for tag in tags:
            self._tagged.setdefault(tag, set()).add(key)
        while len(self._entries) > self._max or (self._weigh is not None and self.weight > self._max_weight):
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Hashable) -> None:
        found = self._entries.pop(key, None)
        if found is None:
            return
        self.weight -= found[3]
        for tag in found[2]:
            keys = self._tagged.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tagged[tag]
