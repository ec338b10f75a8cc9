"""Asset serving building blocks: content negotiation, source map links, the cache directory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from pathlib import Path

import pytest

from registry import asset_cache
from registry.asset_cache import AssetBody, AssetCache, choose_encoding, point_to_source_map
from registry.asset_files import TEMP_PREFIX, evict
from registry.asset_response import _private_file, _sendfile_now


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
        return body.read()
    finally:
        body.close()


class _Stored:
    """An asset as PostgreSQL would answer it (`fetch`), counting the reads."""

    def __init__(self, text: str, delay: float = 0.0) -> None:
        self.text, self.delay, self.fetches = text, delay, 0
        self.digest = hashlib.sha256(text.encode()).digest()

    async def fetch(self) -> str:
        self.fetches += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.text

    async def open(self, cache: AssetCache) -> AssetBody:
        body = await cache.open(self.digest, "identity", len(self.text), self.fetch)
        assert body is not None
        return body


async def test_concurrent_misses_share_one_fetch(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path, capacity_bytes=1 << 20)
    stored = _Stored("export const x = 1;\n", delay=0.01)
    bodies = await asyncio.gather(*(stored.open(cache) for _ in range(20)))
    assert stored.fetches == 1
    assert {_read(body) for body in bodies} == {stored.text.encode()}
    await cache.close()


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_warm_files_are_held_open_within_a_bound_and_each_request_gets_its_own_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asset_cache, "MAX_HELD", 3)
    cache = AssetCache(tmp_path, capacity_bytes=1 << 20)
    assets = [_Stored(f"export const x = {n};\n") for n in range(6)]
    before = _open_descriptors()
    for _ in range(2):
        for asset in assets:
            assert _read(await asset.open(cache)) == asset.text.encode()
    assert _open_descriptors() - before == 3, "only the most recently served files are held"
    first, second = await assets[-1].open(cache), await assets[-1].open(cache)
    assert first.fd != second.fd
    first.close()
    assert _read(second) == assets[-1].text.encode(), "closing one request's descriptor leaves the others"
    del first, second
    await assets[0].open(cache)  # dropped unsent: its descriptor is given back all the same
    await cache.close()
    assert _open_descriptors() == before


async def test_a_held_file_unlinked_behind_its_back_is_let_go_and_made_again(tmp_path: Path) -> None:
    cache = AssetCache(tmp_path, capacity_bytes=1 << 20)
    stored = _Stored("export const x = 1;\n")
    assert _read(await stored.open(cache)) == _read(await stored.open(cache)) == stored.text.encode()
    (tmp_path / stored.digest.hex()).unlink()  # another worker's eviction
    assert _read(await stored.open(cache)) == stored.text.encode()
    assert stored.fetches == 2, "made again from PostgreSQL, not served from the unlinked file"
    assert (tmp_path / stored.digest.hex()).read_bytes() == stored.text.encode()
    await cache.close()


@pytest.mark.parametrize("proc", [True, False])
def test_the_event_loops_sendfile_gets_a_file_offset_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proc: bool
) -> None:
    """Requests sending one file share a file offset (dups of one descriptor); the event loop's
    sendfile seeks (and, under TLS, reads where it seeked): it gets a private offset, through
    /proc or, without /proc, the bytes."""
    path = tmp_path / "asset"
    path.write_bytes(b"0123456789")
    shared = os.open(path, os.O_RDONLY)
    if not proc:
        real_open = os.open

        def no_proc(name: str | os.PathLike[str], flags: int, *args: int) -> int:
            if str(name).startswith("/proc/"):
                raise FileNotFoundError(name)
            return real_open(name, flags, *args)

        monkeypatch.setattr(os, "open", no_proc)
    try:
        with _private_file(shared) as file:
            file.seek(4)
            assert os.lseek(shared, 0, os.SEEK_CUR) == 0
            assert file.read(3) == b"456"
    finally:
        os.close(shared)


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
