"""Asset serving building blocks: content negotiation, source map links, the cache directory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from pathlib import Path

import pytest

from registry.asset_cache import AssetBody, AssetCache, choose_encoding, point_to_source_map
from registry.asset_files import TEMP_PREFIX, evict
from registry.asset_response import _sendfile_now


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


def _read(body: AssetBody | None) -> bytes:
    assert body is not None
    try:
        if body.file is None:
            return body.data or b""
        return body.file.readall()
    finally:
        body.close()


async def test_concurrent_misses_share_one_fetch(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path, capacity_bytes=1 << 20)
    text = "export const x = 1;\n"
    fetches = 0

    async def fetch() -> str:
        nonlocal fetches
        fetches += 1
        await asyncio.sleep(0.01)
        return text

    digest = hashlib.sha256(text.encode()).digest()
    bodies = await asyncio.gather(*(cache.open(digest, "identity", len(text), fetch) for _ in range(20)))
    assert fetches == 1
    assert {_read(body) for body in bodies} == {text.encode()}
    await cache.close()


async def test_text_that_does_not_hash_to_its_digest_is_served_as_it_is_but_never_kept(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path, capacity_bytes=1 << 20)

    async def fetch() -> str:
        return "what PostgreSQL holds"

    assert _read(await cache.open(b"\x00" * 32, "identity", None, fetch)) == b"what PostgreSQL holds"
    assert list(tmp_path.iterdir()) == []
    await cache.close()


async def test_a_gone_asset_is_none(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path, capacity_bytes=1 << 20)

    async def fetch() -> None:
        return None

    assert await cache.open(b"\x01" * 32, "br", 10, fetch) is None
    await cache.close()


async def test_a_temporary_directory_is_made_at_first_use_and_removed_at_close() -> None:
    cache = AssetCache(None, capacity_bytes=1 << 20)
    assert cache.directory is None

    async def fetch() -> str:
        return "x"

    _read(await cache.open(hashlib.sha256(b"x").digest(), "gzip", 1, fetch))
    made = cache.directory
    assert made is not None and len(list(made.iterdir())) == 2, "the asset and its gzip form"
    await cache.close()
    assert not made.exists()


def test_eviction_deletes_the_least_recently_used_down_to_nine_tenths(tmp_path: Path) -> None:
    for n in range(10):
        path = tmp_path / f"{n:064x}"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 + n, 1_000_000))  # atime: used in order 0, 1, ... 9
    (tmp_path / f"{TEMP_PREFIX}dead").write_bytes(b"y" * 500)
    os.utime(tmp_path / f"{TEMP_PREFIX}dead", (0, 0))  # left by a writer that died long ago
    kept, deleted = evict(tmp_path, capacity=500)
    assert kept == 400
    assert deleted == [f"{n:064x}" for n in range(6)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n:064x}" for n in range(6, 10)]
    assert evict(tmp_path, capacity=500) == (400, []), "within the bound, nothing goes"


class _Transport(asyncio.WriteTransport):
    """A transport over a real socket pair, as the event loop's would be, optionally TLS's."""

    def __init__(self, sock: socket.socket, *, tls: bool, queued: int = 0) -> None:
        super().__init__()
        self._extra = {"socket": sock, "ssl_object": object() if tls else None}
        self._queued = queued

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self._extra.get(name, default)

    def get_write_buffer_size(self) -> int:
        return self._queued


@pytest.mark.parametrize(("tls", "queued", "sent"), [(False, 0, 5), (True, 0, 0), (False, 10, 0)])
def test_a_file_goes_around_the_transport_only_over_plain_tcp_with_nothing_queued(
    tmp_path: Path, tls: bool, queued: int, sent: int
) -> None:
    """Straight to the socket only when nothing is queued before it, and never under TLS, whose
    bytes must go through the transport to be encrypted."""
    path = tmp_path / "asset"
    path.write_bytes(b"hello")
    server, client = socket.socketpair()
    server.setblocking(False)
    with server, client, path.open("rb") as file:
        assert _sendfile_now(_Transport(server, tls=tls, queued=queued), file.fileno(), 0, 5) == sent
        client.setblocking(False)
        received = b""
        with contextlib.suppress(BlockingIOError):
            received = client.recv(16)
        assert received == b"hello"[:sent]
