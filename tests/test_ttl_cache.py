"""The TTL cache behind dependents totals."""

from __future__ import annotations

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
