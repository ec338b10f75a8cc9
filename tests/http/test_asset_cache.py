"""The host's asset cache: files named by their sha256, sent with sendfile, never served unless
verified, shared by the workers of a host, bounded; and the HTTP semantics of sending them
(ranges, HEAD), which the cache must not change."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import socket
import time
from pathlib import Path

import asyncpg
import brotli
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry import appkeys, asset_response
from registry.config import Config
from tests.conftest import ClientWith
from tests.support.eventually import eventually
from tests.support.factories import UserFixture, make_user
from tests.support.registry import bundle_for, publish

Client = TestClient[web.Request, web.Application]
BIG_BUNDLE = "export const words = [" + ",".join(f'"w{n}"' for n in range(20000)) + "];\n"
BY_VERSION = "/api/extensions/alice/wc/-/bundle.js?version=1.0.0"
BY_TAG = "/api/extensions/alice/wc/-/bundle.js"
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture
async def alice(db: asyncpg.Connection) -> UserFixture:
    return await make_user(db, "alice")


@pytest.fixture
async def stored(client: Client, db: asyncpg.Connection, alice: UserFixture) -> bytes:
    """The bundle of alice/wc 1.0.0 as PostgreSQL holds it."""
    await publish(client, alice.headers, "alice/wc", "1.0.0", bundle=BIG_BUNDLE)
    return str(await db.fetchval("SELECT bundle FROM registry_extension_releases")).encode()


@pytest.fixture
def shared_dir(tmp_path: Path) -> Path:
    return tmp_path / "assets"


def _file(client: Client, data: bytes, suffix: str = "") -> Path:
    directory = client.app[appkeys.ASSETS].directory
    assert directory is not None
    return directory / (hashlib.sha256(data).hexdigest() + suffix)


async def _body(client: Client, path: str = BY_VERSION, **headers: str) -> tuple[int, bytes]:
    response = await client.get(path, headers=headers or IDENTITY, auto_decompress=False)
    return response.status, await response.read()


async def _version(client: Client, path: str) -> tuple[int, str | None]:
    """The status, and which version's bundle was served (bundle_for's first line names it)."""
    status, body = await _body(client, path)
    served = [v for v in ("1.0.0", "1.1.0") if status == 200 and bundle_for(v).splitlines()[0].encode() in body]
    return status, served[0] if served else None


async def test_a_served_bundle_is_a_file_named_by_its_sha256(client: Client, stored: bytes) -> None:
    assert await _body(client) == (200, stored)
    assert _file(client, stored).read_bytes() == stored
    _, raw = await _body(client, **{"Accept-Encoding": "br"})
    assert brotli.decompress(raw) == stored
    assert _file(client, stored, ".br").read_bytes() == raw, "the compressed form is made once, beside it"
    assert not [p for p in _file(client, stored).parent.iterdir() if p.name.startswith(".")], "no temporary left"


async def test_warm_requests_read_neither_the_database_nor_the_file_again(client: Client, stored: bytes) -> None:
    cache = client.app[appkeys.ASSETS]
    for _ in range(5):
        assert await _body(client) == (200, stored)
    assert (cache.fetches, cache.misses, cache.hits) == (1, 1, 4)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-100", -100, None), ("bytes=5-5", 5, 5)],
)
async def test_a_range_is_answered_206_from_the_uncompressed_bundle(
    client: Client, stored: bytes, header: str, first: int, last: int | None
) -> None:
    response = await client.get(BY_VERSION, headers={"Range": header, "Accept-Encoding": "gzip, br"})
    assert response.status == 206
    assert "Content-Encoding" not in response.headers, "a range is of the bytes the ETag names"
    start = first if first >= 0 else len(stored) + first
    end = len(stored) - 1 if last is None else last
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(stored)}"
    assert await response.read() == stored[start : end + 1]
    assert response.headers["Accept-Ranges"] == "bytes"


async def test_an_unsatisfiable_range_is_416_and_a_malformed_one_is_ignored(client: Client, stored: bytes) -> None:
    past = await client.get(BY_VERSION, headers={"Range": f"bytes={len(stored)}-"})
    assert past.status == 416
    assert past.headers["Content-Range"] == f"bytes */{len(stored)}"
    for ignored in ("bytes=abc", "bytes=0-1,5-6", "lines=1-2"):
        assert await _body(client, Range=ignored, **IDENTITY) == (200, stored), ignored


async def test_if_range_honours_the_range_only_for_the_current_etag(client: Client, stored: bytes) -> None:
    etag = (await client.get(BY_VERSION)).headers["ETag"]
    same = await client.get(BY_VERSION, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert (same.status, await same.read()) == (206, stored[:10])
    for other in ('"0123"', "Wed, 21 Oct 2015 07:28:00 GMT"):
        assert await _body(client, Range="bytes=0-9", **{"If-Range": other}, **IDENTITY) == (200, stored)


async def test_head_answers_the_headers_and_counts_no_download(client: Client, stored: bytes) -> None:
    response = await client.head(BY_VERSION, headers=IDENTITY)
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(stored))
    assert response.headers["ETag"] == f'"{hashlib.sha256(stored).hexdigest()[:40]}"'
    assert await response.read() == b""
    assert client.app[appkeys.DOWNLOADS].pending == 0
    await client.get(BY_VERSION, headers={"Range": "bytes=0-9"})
    assert client.app[appkeys.DOWNLOADS].pending == 1, "a GET of the bundle counts, ranged or not"


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    before = os.stat(path)
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])
        if how == "same size and mtime":
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize("how", ["truncated", "same size"])
async def test_a_corrupted_file_is_detected_and_made_again_never_served(
    client: Client, stored: bytes, how: str
) -> None:
    assert await _body(client) == (200, stored)
    _corrupt(_file(client, stored), how)
    assert await _body(client) == (200, stored)
    assert _file(client, stored).read_bytes() == stored, "made again from PostgreSQL"
    assert client.app[appkeys.ASSETS].fetches == 2


async def test_a_corrupted_compressed_form_is_made_again(client: Client, stored: bytes) -> None:
    await _body(client, **{"Accept-Encoding": "gzip"})
    _corrupt(_file(client, stored, ".gz"), "same size")
    status, raw = await _body(client, **{"Accept-Encoding": "gzip"})
    assert (status, gzip.decompress(raw)) == (200, stored)


async def test_another_process_verifies_what_it_finds_before_serving_it(
    client_with: ClientWith, db: asyncpg.Connection, alice: UserFixture, shared_dir: Path
) -> None:
    """A worker meeting a file for the first time hashes it, even one corrupted so that its size
    and mtime still look right to the worker that made it."""
    first = await client_with(asset_cache_dir=shared_dir)
    await publish(first, alice.headers, "alice/wc", "1.0.0", bundle=BIG_BUNDLE)
    stored = str(await db.fetchval("SELECT bundle FROM registry_extension_releases")).encode()
    assert await _body(first) == (200, stored)
    second = await client_with(asset_cache_dir=shared_dir)
    assert await _body(second) == (200, stored)
    assert second.app[appkeys.ASSETS].fetches == 0, "found on disk, verified, not read from PostgreSQL"
    _corrupt(_file(first, stored), "same size and mtime")
    third = await client_with(asset_cache_dir=shared_dir)
    assert await _body(third) == (200, stored)
    assert third.app[appkeys.ASSETS].fetches == 1


async def test_a_yank_stops_the_tag_at_once_on_its_node_and_soon_on_another_sharing_the_files(
    client_with: ClientWith, alice: UserFixture, shared_dir: Path
) -> None:
    node_a, node_b = await client_with(asset_cache_dir=shared_dir), await client_with(asset_cache_dir=shared_dir)
    await publish(node_a, alice.headers, "alice/wc", "1.0.0")
    newer = await publish(node_a, alice.headers, "alice/wc", "1.1.0")
    static = str(newer["bundle"]["static_url"])
    for node in (node_a, node_b):
        assert await _version(node, BY_TAG) == (200, "1.1.0"), "warm on both"
        assert (await _body(node, static))[0] == 200
    assert (await node_a.delete("/api/extensions/alice/wc/releases/1.1.0", headers=alice.headers)).status == 204
    assert await _version(node_a, BY_TAG) == (200, "1.0.0"), "at once on the yanking node"
    assert (await _body(node_a, static))[0] == 404

    async def moved() -> bool:
        return await _version(node_b, BY_TAG) == (200, "1.0.0") and (await _body(node_b, static))[0] == 404

    await eventually(moved, "the other node stops serving the yanked release")


async def test_the_directory_stays_within_its_bound(
    client_with: ClientWith, alice: UserFixture, shared_dir: Path
) -> None:
    client = await client_with(asset_cache_dir=shared_dir, bundle_cache_bytes=2048)
    for minor in range(30):
        version = f"1.{minor}.0"
        await publish(client, alice.headers, "alice/wc", version)
        status, body = await _body(client, f"{BY_TAG}?version={version}")
        assert status == 200 and f"return '{version}'".encode() in body

    async def within() -> bool:
        return sum(p.stat().st_size for p in shared_dir.iterdir()) <= 2048

    await eventually(within, "the least recently used files are evicted")
    assert await _version(client, f"{BY_TAG}?version=1.0.0") == (200, "1.0.0"), "fetched again once evicted"


async def test_a_directory_that_cannot_be_made_still_serves_from_memory(
    client_with: ClientWith, alice: UserFixture, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    client = await client_with(asset_cache_dir=tmp_path / "a-file" / "assets")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    for encoding in ("identity", "gzip"):
        response = await client.get(BY_VERSION, headers={"Accept-Encoding": encoding})
        assert response.status == 200
        assert (await response.text()).startswith(bundle_for("1.0.0").splitlines()[0])


def test_the_cache_directory_defaults_under_the_data_directory(tmp_path: Path) -> None:
    assert Config(data_dir=tmp_path).asset_directory == tmp_path / "asset-cache"
    assert Config(data_dir=tmp_path, asset_cache_dir=tmp_path / "x").asset_directory == tmp_path / "x"
    assert Config().asset_directory is None, "a temporary directory, made at first use"


async def test_a_sent_bundle_leaves_its_connection_uncorked_for_the_next_answer(
    client_with: ClientWith, db: asyncpg.Connection, alice: UserFixture
) -> None:
    """Headers and file are sent under TCP_CORK (full segments, as nginx's tcp_nopush); the cork is
    released once they are handed over, or a keep-alive connection's next small answer would wait
    up to 200 ms for it."""
    corked: list[int] = []

    async def cork_state(request: web.Request) -> web.Response:
        sock = request.transport.get_extra_info("socket") if request.transport else None
        assert sock is not None
        corked.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK))
        return web.Response(text="ok")

    client = await client_with(adjust=lambda app: app.router.add_get("/test/cork", cork_state))
    await publish(client, alice.headers, "alice/wc", "1.0.0", bundle=BIG_BUNDLE)
    for path in (BY_VERSION, BY_VERSION + "&x=ranged"):
        headers = {**IDENTITY, "Range": "bytes=10-"} if "ranged" in path else IDENTITY
        response = await client.get(path, headers=headers)
        assert response.status in (200, 206)
        await response.read()
        assert (await client.get("/test/cork")).status == 200  # the same keep-alive connection
    assert corked == [0, 0]


def _slow_get(port: int, path: str, extra: str = "") -> bytes:
    """GET `path` as a client with a 4 KiB receive buffer reading in small bites: the server's
    socket fills, and the rest of the file goes through the event loop's sendfile."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: identity\r\n{extra}Connection: close\r\n\r\n".encode()
        )
        received = []
        time.sleep(0.05)  # let the server's buffer fill before anything is read
        while chunk := sock.recv(2048):
            received.append(chunk)
            time.sleep(0.0005)
    head, _, body = b"".join(received).partition(b"\r\n\r\n")
    assert head.split(b" ")[1] in (b"200", b"206"), head
    return body


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel sendfile", "read and write (as under TLS)"])
async def test_slow_clients_of_one_file_each_get_their_own_bytes(
    client: Client, stored: bytes, monkeypatch: pytest.MonkeyPatch, kernel: bool
) -> None:
    """Requests sending one file share its held descriptor's file offset; the event loop's
    sendfile, which takes over when a slow client's socket is full, must not let one request's
    position move another's: where it cannot use the kernel's (TLS), it seeks and reads."""
    private = 0
    real_private, real_sendfile_now = asset_response._private_file, asset_response._sendfile_now

    def counted(fd: int):  # type: ignore[no-untyped-def]
        nonlocal private
        private += 1
        return real_private(fd)

    def small_buffer(transport: asyncio.BaseTransport, fileno: int, offset: int, count: int) -> int:
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        return real_sendfile_now(transport, fileno, offset, count)

    assert await _body(client) == (200, stored)  # warm: the file is held
    monkeypatch.setattr(asset_response, "_private_file", counted)
    monkeypatch.setattr(asset_response, "_sendfile_now", small_buffer)
    if not kernel:

        async def unavailable(*args: object) -> int:
            raise asyncio.exceptions.SendfileNotAvailableError()

        monkeypatch.setattr(type(asyncio.get_running_loop()), "_sendfile_native", unavailable)
    port = client.server.port
    assert port is not None
    bodies = await asyncio.gather(
        asyncio.to_thread(_slow_get, port, BY_VERSION),
        asyncio.to_thread(_slow_get, port, BY_VERSION, "Range: bytes=1000-\r\n"),
        asyncio.to_thread(_slow_get, port, BY_VERSION),
    )
    assert bodies == [stored, stored[1000:], stored]
    assert private == 3, "each went through the event loop's sendfile"
