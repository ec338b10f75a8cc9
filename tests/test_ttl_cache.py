"""The TTL cache behind dependents totals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from registry.db.lsn import CURRENT_FLOOR, ReadFloor, parse_lsn
from registry.ttl_cache import TtlCache


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_values_are_reused_until_they_expire_and_the_oldest_go_first() -> None:
    clock = Clock()
    cache: TtlCache[int] = TtlCache(5, max_entries=2, clock=clock)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return loads

    assert await cache.get("a", load) == 1
    assert await cache.get("a", load) == 1
    clock.now = 6
    assert await cache.get("a", load) == 2, "expired"
    await cache.get("b", load)
    await cache.get("c", load)
    assert await cache.get("a", load) == 5, "evicted: only two entries are kept"


async def test_an_invalidation_drops_the_entries_it_names_and_only_those() -> None:
    cache: TtlCache[str] = TtlCache(60, tags=lambda key, value: [f"extension:{value}", "publisher:alice"])
    for key, value in (("a", "1"), ("b", "2")):
        await cache.get(key, _returning(value))
    cache.invalidate("extension:1")
    assert len(cache) == 1, "b stays"
    cache.invalidate("publisher:*")
    assert len(cache) == 0


async def test_a_value_read_while_an_invalidation_arrived_is_not_kept() -> None:
    cache: TtlCache[str] = TtlCache(60)

    async def load_across_a_change() -> str:
        cache.invalidate("extension:1")  # the change committed while the value was being read
        return "stale?"

    assert await cache.get("a", load_across_a_change) == "stale?"
    assert len(cache) == 0


async def test_a_suspended_cache_keeps_nothing() -> None:
    cache: TtlCache[str] = TtlCache(60)
    await cache.get("a", _returning("1"))
    cache.suspend(True)
    assert len(cache) == 0
    await cache.get("a", _returning("2"))
    assert len(cache) == 0
    cache.suspend(False)
    await cache.get("a", _returning("3"))
    assert len(cache) == 1


def _returning(value: str) -> Callable[[], Awaitable[str]]:
    async def load() -> str:
        return value

    return load


async def test_a_client_that_just_wrote_is_answered_from_the_database_not_the_cache() -> None:
    cache: TtlCache[str] = TtlCache(60)
    await cache.get("a", _returning("before the write"))
    token = CURRENT_FLOOR.set(ReadFloor(floor=parse_lsn("0/16B3748") or 0))
    try:
        assert await cache.get("a", _returning("after the write")) == "after the write"
    finally:
        CURRENT_FLOOR.reset(token)
    assert await cache.get("a", _returning("unused")) == "after the write", "what the database said is kept"


async def test_a_costly_value_refreshed_behind_lives_longer_but_still_goes_on_a_change() -> None:
    """A value that took 0.1 s to load is reloaded behind the requests after 200 x 0.1 = 20 s, not
    the 5 s bound (at most 12 x 5 s however long it took); a cheap one after 5 s; an announced change
    drops either at once."""
    clock = Clock()
    cache: TtlCache[int] = TtlCache(5, clock=clock, tags=lambda key, value: (f"k:{key}",), refresh_behind=True)
    loads = 0

    def loader(seconds: float) -> Callable[[], Awaitable[int]]:
        async def load() -> int:
            nonlocal loads
            loads += 1
            clock.now += seconds  # the load's own duration, on the cache's clock
            return loads

        return load

    assert await cache.get("costly", loader(0.1)) == 1
    assert await cache.get("cheap", loader(0.001)) == 2
    clock.now += 10
    assert await cache.get("costly", loader(0.1)) == 1, "20 s: not old yet"
    assert await cache.get("cheap", loader(0.001)) == 2, "old by time: answered while a reload runs behind"
    await asyncio.sleep(0)
    assert loads == 3
    clock.now += 11
    assert await cache.get("costly", loader(0.1)) == 1, "old now: the last value, a reload behind it"
    await asyncio.sleep(0)
    assert loads == 4
    assert await cache.get("glacial", loader(100)) == 5
    clock.now += 61
    await cache.get("glacial", loader(100))
    await asyncio.sleep(0)
    assert loads == 6, "at most 12 x the bound (60 s), however costly"
    cache.invalidate("k:costly")
    assert await cache.get("costly", loader(0.1)) == 7, "a change drops it at once"


async def test_without_refresh_behind_the_bound_is_the_bound() -> None:
    clock = Clock()
    cache: TtlCache[int] = TtlCache(5, clock=clock)

    async def slow() -> int:
        clock.now += 1
        return int(clock.now)

    assert await cache.get("a", slow) == 1
    clock.now = 6.5
    assert await cache.get("a", slow) == 7, "kept 5 s from when it was loaded, however long that took"
