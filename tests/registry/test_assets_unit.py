"""Asset serving building blocks: content negotiation, source map links, the bounded cache."""

from __future__ import annotations

import asyncio

import pytest

from registry.asset_cache import AssetCache, CachedAsset, choose_encoding, point_to_source_map


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("identity", "identity"),
        ("", "identity"),
        ("*", "br"),
        ("*;q=0, gzip;q=0.5", "gzip"),
        ("gzip;q=abc", "identity"),
    ],
)
def test_encoding_negotiation(header: str, chosen: str) -> None:
    assert choose_encoding(header) == chosen


def test_the_source_mapping_comment_is_replaced_or_added() -> None:
    url = "https://wharf.example/-/static/extension/7-a-b.map"
    assert (
        point_to_source_map(b"code();\n//# sourceMappingURL=main.js.map\n", url)
        == f"code();\n//# sourceMappingURL={url}\n".encode()
    )
    assert (
        point_to_source_map(b"code();\n//@ sourceMappingURL=old.map", url)
        == f"code();\n//# sourceMappingURL={url}\n".encode()
    )
    assert point_to_source_map(b"code();", url) == f"code();\n//# sourceMappingURL={url}\n".encode()
    inner = b'const s = "//# sourceMappingURL=x";\nmore();\n'
    assert point_to_source_map(inner, url).startswith(inner), "only a trailing comment counts"


async def test_the_cache_is_bounded_in_bytes_and_least_recently_used() -> None:
    cache = AssetCache(capacity_bytes=1000)

    def loader(size: int):  # type: ignore[no-untyped-def]
        async def load() -> CachedAsset:
            return CachedAsset(b"x" * size, '"e"')

        return load

    for n in range(5):
        await cache.get((n, "bundle"), loader(100))
    await cache.get((0, "bundle"), loader(100))  # touch 0
    for n in range(5, 11):
        await cache.get((n, "bundle"), loader(100))
    assert cache.size_bytes <= 1000
    hits = cache.hits
    await cache.get((0, "bundle"), loader(100))
    assert cache.hits == hits + 1, "the recently used entry survived"
    await cache.get((99, "bundle"), loader(200))  # more than an eighth: served, not kept
    misses = cache.misses
    await cache.get((99, "bundle"), loader(200))
    assert cache.misses == misses + 1


async def test_concurrent_misses_share_one_load() -> None:
    cache = AssetCache(capacity_bytes=10_000)
    loads = 0

    async def load() -> CachedAsset:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return CachedAsset(b"js", '"e"')

    results = await asyncio.gather(*(cache.get((1, "bundle"), load) for _ in range(20)))
    assert loads == 1
    assert all(r is results[0] for r in results)


async def test_compressed_forms_count_against_the_bound() -> None:
    cache = AssetCache(capacity_bytes=100_000)
    asset = await cache.get((1, "bundle"), lambda: _const(CachedAsset(b"abc" * 1000, '"e"')))
    assert asset is not None
    before = cache.size_bytes
    gz = await cache.body((1, "bundle"), asset, "gzip")
    assert cache.size_bytes == before + len(gz)
    assert await cache.body((1, "bundle"), asset, "gzip") is gz


async def _const(value: CachedAsset) -> CachedAsset:
    return value
