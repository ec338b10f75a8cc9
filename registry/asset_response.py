"""The response that sends an asset: the kernel copies the file to the socket (sendfile).

Not aiohttp's `FileResponse`, though it sends files the same way: read in aiohttp 3.14
(web_fileresponse.py), it computes its own ETag and Last-Modified from the file's mtime and
size, and evaluates If-None-Match, If-Match, If-Modified-Since and If-Range against those. A
cache file's mtime is when this host made it, different on every node, and Wharf's ETag is the
strong digest clients already hold (registry.services.catalogue.asset_etag); it also picks a
`.br`/`.gz` sibling when the encoding's name appears anywhere in Accept-Encoding, `br;q=0`
included. So Wharf decides the conditionals and the encoding itself (registry.handlers.assets)
and this response only sends: the whole file, or one range of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
from collections.abc import Iterator, Mapping

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_request import BaseRequest

from registry.asset_cache import AssetBody, read_at


class AssetResponse(web.StreamResponse):
    """`body` (an AssetBody, closed once sent) with `headers`; with `ranged`, the request's
    Range is honoured (206, or 416 when it starts past the end; a malformed or multiple Range
    is ignored, as RFC 9110 §14.2 allows, and the whole asset sent)."""

    def __init__(self, body: AssetBody, headers: Mapping[str, str], *, ranged: bool) -> None:
        super().__init__(headers=headers)
        self._asset = body
        self._ranged = ranged

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        try:
            return await self._send(request)
        finally:
            self._asset.close()

    async def _send(self, request: BaseRequest) -> AbstractStreamWriter | None:
        size = self._asset.size
        start, count = self._range(request, size) if self._ranged else (0, size)
        if count < 0:
            self.set_status(416)
            self.headers["Content-Range"] = f"bytes */{size}"
            self.content_length = 0
            return await super().prepare(request)
        if self._asset.encoding != "identity":
            self.headers["Content-Encoding"] = self._asset.encoding
        self.headers["Accept-Ranges"] = "bytes"
        self.content_length = count
        if self._asset.fd is None or count == 0 or request.method == "HEAD":
            writer = await super().prepare(request)
            if count and request.method != "HEAD":
                await self.write(memoryview(self._asset.data or b"")[start : start + count])
                await self.write_eof()
            return writer
        transport = request.transport
        if transport is None:
            raise ConnectionResetError("Connection lost")
        corked = _cork(transport)
        try:
            writer = await super().prepare(request)
            sent = _sendfile_now(transport, self._asset.fd, start, count)
            if sent < count:  # the socket's buffer is full: the event loop waits for room
                with _private_file(self._asset.fd) as file:
                    await asyncio.get_running_loop().sendfile(transport, file, start + sent, count - sent)
        finally:
            _uncork(corked)
        await self.write_eof()
        return writer

    def _range(self, request: BaseRequest, size: int) -> tuple[int, int]:
        """(start, count) of the range asked for: the whole asset when none (or a malformed one)
        is; count -1 when it is unsatisfiable."""
        try:
            wanted = request.http_range
        except ValueError:
            return 0, size
        if wanted.start is None:
            return 0, size
        if size == 0:
            return 0, -1  # no byte of an empty asset can be asked for
        if wanted.start < 0:  # a suffix: the last n bytes
            start = max(0, size + wanted.start)
        elif wanted.start >= size:
            return 0, -1
        else:
            start = wanted.start
        end = size if wanted.stop is None else min(wanted.stop, size)
        self.set_status(206)
        self.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        return start, end - start


def _sendfile_now(transport: asyncio.BaseTransport, fileno: int, offset: int, count: int) -> int:
    """As much of the file as the socket takes now, sent by the kernel: how many bytes. The event
    loop's `sendfile` pauses reading, waits on a future for the transport's buffer to be empty,
    and registers the socket for writability and unregisters it around the same system call; a
    warm keep-alive connection's buffer takes most of a bundle at once, and skipping that machinery
    cut the server's CPU per 1 MiB bundle by 10-20 % (bench_hotpaths --compare-with: 415-426
    against 472-544 µs). Bytes may only go around the transport when nothing is queued in it
    (the headers went straight to the socket); else nothing is sent here."""
    sock = transport.get_extra_info("socket")
    if (
        sock is None
        or transport.get_extra_info("ssl_object") is not None  # bytes around TLS would go out in clear
        or not isinstance(transport, asyncio.WriteTransport)
        or transport.get_write_buffer_size()
    ):
        return 0
    sent = 0
    try:
        while sent < count:
            done = os.sendfile(sock.fileno(), fileno, offset + sent, count - sent)
            if done == 0:
                break
            sent += done
    except (BlockingIOError, InterruptedError):
        pass
    except OSError as exc:  # the peer went away (EPIPE, ECONNRESET, ENOTCONN)
        raise ConnectionResetError("Connection lost") from exc
    return sent


@contextlib.contextmanager
def _private_file(fd: int) -> Iterator[io.FileIO]:
    """The file `fd` names with a file offset of its own: the event loop's `sendfile` seeks, and
    where it cannot send by the kernel (TLS) reads at the offset, which `fd` (a dup) shares with
    every request sending the same file. Opened again through /proc; read whole where /proc is
    not mounted."""
    try:
        file = io.FileIO(os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC), "r")
    except OSError:
        file = io.BytesIO(read_at(fd, 0, os.fstat(fd).st_size))  # type: ignore[assignment]
    try:
        yield file
    finally:
        file.close()


def _cork(transport: asyncio.BaseTransport) -> socket.socket | None:
    """TCP_CORK while the headers and the file are handed to the kernel: they leave in full
    segments, the headers with the file's first bytes (nginx's `tcp_nopush`), not as a small
    segment of their own that the client must take apart from the body. The socket to uncork
    (`_uncork`, whatever happens: a keep-alive connection's next answer must not wait for a cork),
    or None. Two plain calls, not a context manager: this runs for every asset sent."""
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is None or _TCP_CORK is None:
        return None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_CORK, 1)
    except OSError:
        return None
    return sock


def _uncork(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_CORK or 0, 0)


_TCP_CORK: int | None = getattr(socket, "TCP_CORK", None)
