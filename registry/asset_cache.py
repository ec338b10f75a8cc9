"""Serving bundles and source maps: a content-addressed cache on local disk, sent by sendfile.

A bundle is immutable once published and named by its sha256 (recorded at publish), so a host
keeps each asset once, as a file named by that digest, with its gzip and brotli forms beside it
(registry.asset_files), made once, off the event loop, and shared by every worker process that
is given the same directory (WHARF_ASSET_CACHE_DIR). A warm request takes a descriptor of the
file (a `dup` of one this process holds open for its most recently served files: no path walk)
and the kernel sends it (registry.asset_response); PostgreSQL is read once per cold asset, however
many ask at once.

A file is served only as verified: hashed against its name the first time this process meets
it, and again whenever its inode, size or mtime differ from what was verified (checked with an
fstat of the descriptor on every request, so what is sent is what was checked; a held file that
has since been unlinked, by an eviction or a file made again, is let go and its name opened
afresh). A file that does not match is deleted and made again from PostgreSQL. The directory is bounded in bytes
(WHARF_BUNDLE_CACHE_BYTES), least recently used files evicted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from registry import asset_files
from registry.asset_files import AssetMismatch, Stamp, file_name

log = logging.getLogger("wharf.assets")

_SOURCE_MAPPING_URL = re.compile(rb"(?m)^//[#@] sourceMappingURL=\S*\s*\Z")
TOUCH_SECONDS = 60.0  # a served file's atime (the eviction order) is moved at most this often
MAX_KNOWN = 100_000  # verified files remembered per process (a name and a stamp each)
# Files held open per process for the next request's dup. Bounded well below the usual 1,024
# descriptors a process may have; a held file another process evicts keeps its disk space only
# until this one next serves it (it sees the file unlinked) or stops holding it.
MAX_HELD = 64
CONCURRENT_WORK = 2  # hashings and compressions at once: each is up to tens of ms of a core

Fetch = Callable[[], Awaitable[str | None]]
"""Reads the asset's text from PostgreSQL; None when the release no longer has it."""


def read_at(fd: int, offset: int, count: int) -> bytes:
    """`count` bytes of `fd` from `offset` (fewer at its end), leaving its file offset alone."""
    chunks = []
    while count > 0:
        chunk = os.pread(fd, count, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
        count -= len(chunk)
    return b"".join(chunks)


class AssetBody:
    """An asset ready to send: a descriptor of a verified file (sent with sendfile), or its bytes
    when the directory could not take them. It owns the descriptor: whoever sends it closes it
    (`close`). The descriptor may share its file offset with other requests' (a `dup`): read it
    only at explicit offsets (sendfile's, `pread`'s), never by seeking."""

    __slots__ = ("data", "encoding", "fd", "size")

    def __init__(self, encoding: str, *, fd: int | None = None, size: int = 0, data: bytes | None = None) -> None:
        self.encoding = encoding
        self.fd = fd
        self.data = data
        self.size = size if fd is not None else len(data or b"")

    def read(self) -> bytes:
        """The whole asset, read at explicit offsets (for callers that want bytes, not a send)."""
        return (self.data or b"") if self.fd is None else read_at(self.fd, 0, self.size)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        """A body dropped unsent (a response built and then discarded) still gives its descriptor
        back, as a file object would: a bare descriptor would otherwise stay open for good."""
        self.close()


@dataclass
class _Known:
    stamp: Stamp
    touched: float


class _Gone:
    """The release's asset is no longer in PostgreSQL (yanked and purged between two reads)."""


_GONE = _Gone()
_Made = bytes | _Gone | None  # bytes: serve them from memory; None: the file is there, verified


class AssetCache:
    """The asset files of a host, as this process knows them."""

    def __init__(self, directory: Path | None, capacity_bytes: int) -> None:
        self._configured = directory
        self._directory: Path | None = None
        self._owned = False  # a temporary directory of this process, removed at close
        self._unusable = False  # the directory could not be made: assets are served from memory
        self._capacity = capacity_bytes
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._held: OrderedDict[str, int] = OrderedDict()  # name -> a descriptor of its verified file
        self._making: dict[str, asyncio.Future[_Made]] = {}
        self._work: asyncio.Semaphore | None = None
        self._kept_bytes: int | None = None  # the directory's size as last scanned, plus writes since
        self._eviction: asyncio.Task[None] | None = None
        self.hits = 0  # answered from a verified file, no work
        self.misses = 0  # a file to verify, fetch or make first
        self.fetches = 0  # reads of PostgreSQL

    @property
    def directory(self) -> Path | None:
        return self._directory

    async def open(self, digest: bytes, encoding: str, size: int | None, fetch: Fetch) -> AssetBody | None:
        """The asset whose sha256 is `digest` (`size` bytes, when known) in `encoding` ("br",
        "gzip" or "identity"), made first if need be; None when PostgreSQL no longer has it."""
        name = file_name(digest, encoding)
        for attempt in range(2):  # a file evicted by another process right after it was made: once more
            body = self._open_known(name, encoding)
            if body is not None:
                self.hits += attempt == 0
                return body
            self.misses += 1
            made = await self._once(name, lambda: self._make(digest, encoding, size, fetch))
            if isinstance(made, _Gone):
                return None
            if made is not None:
                return AssetBody(encoding, data=made)
        made = await self._in_memory(digest, encoding, size, fetch)
        return AssetBody(encoding, data=made) if isinstance(made, bytes) else None

    def _open_known(self, name: str, encoding: str) -> AssetBody | None:
        """The verified file `name`, as a descriptor of its own, if it is still what was verified.
        A dup and an fstat are microseconds: done here, not in a thread, on the hot path."""
        known = self._known.get(name)
        if known is None or self._directory is None:
            return None
        fd = self._dup(name, self._directory)
        if fd is None:
            return None
        st = os.fstat(fd)
        if not st.st_nlink:  # unlinked since it was held (evicted, or made again): by its name again
            os.close(fd)
            self._let_go(name)
            fd = self._dup(name, self._directory)
            if fd is None:
                return None
            st = os.fstat(fd)
        if (st.st_ino, st.st_size, st.st_mtime_ns) != (known.stamp.ino, known.stamp.size, known.stamp.mtime_ns):
            os.close(fd)
            self._forget(name)  # changed since verified: verified again before it is served
            return None
        self._known.move_to_end(name)
        self._held.move_to_end(name)
        now = time.monotonic()
        if now - known.touched > TOUCH_SECONDS:
            known.touched = now
            with contextlib.suppress(OSError):
                os.utime(fd, ns=(time.time_ns(), st.st_mtime_ns))
        return AssetBody(encoding, fd=fd, size=st.st_size)

    def _dup(self, name: str, directory: Path) -> int | None:
        """A descriptor of `name` of the caller's own: a dup of the held one, opened first if need
        be; None when the file is gone (forgotten: it is made again)."""
        try:
            held = self._held.get(name)
            if held is None:
                # a str join: half of pathlib's cost
                held = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_CLOEXEC)
                self._hold(name, held)
            return os.dup(held)
        except OSError:
            self._forget(name)
            return None

    def _hold(self, name: str, fd: int) -> None:
        self._held[name] = fd
        while len(self._held) > MAX_HELD:
            os.close(self._held.popitem(last=False)[1])

    def _let_go(self, name: str) -> None:
        """Close this process's descriptor of `name` (requests sending it hold their own dups)."""
        held = self._held.pop(name, None)
        if held is not None:
            os.close(held)

    def _forget(self, name: str) -> None:
        self._let_go(name)
        self._known.pop(name, None)

    async def _once(self, name: str, make: Callable[[], Awaitable[_Made]]) -> _Made:
        """`make`, run once however many requests want `name` at the same time."""
        pending = self._making.get(name)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_Made] = asyncio.get_running_loop().create_future()
        self._making[name] = future
        try:
            made = await make()
            future.set_result(made)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._making[name]
        return made

    async def _make(self, digest: bytes, encoding: str, size: int | None, fetch: Fetch) -> _Made:
        directory = await self._ensure_directory()
        if directory is None:
            return await self._in_memory(digest, encoding, size, fetch)
        if encoding == "identity":
            data = await self._identity(digest, size, fetch)
            return _GONE if data is None else None if file_name(digest, encoding) in self._known else data
        found = await self._verified(directory / file_name(digest, encoding), digest, encoding, size)
        if found is not None:
            return None
        data = await self._identity(digest, size, fetch)
        if data is None:
            return _GONE
        async with self._slot():
            stored = await asyncio.to_thread(asset_files.store_compressed, directory, digest, encoding, data)
        return self._kept(file_name(digest, encoding), stored)

    async def _identity(self, digest: bytes, size: int | None, fetch: Fetch) -> bytes | None:
        """The asset's bytes, from its file when it is there and right, else from PostgreSQL (and
        then written); None when PostgreSQL no longer has them."""
        directory = await self._ensure_directory()
        if directory is not None:
            found = await self._verified(directory / file_name(digest, "identity"), digest, "identity", size)
            if found is not None:
                return found.data
        self.fetches += 1
        text = await fetch()
        if text is None:
            return None
        if directory is None:
            return text.encode()
        async with self._slot():
            try:
                stored = await asyncio.to_thread(asset_files.store_text, directory, digest, text)
            except AssetMismatch as exc:
                log.error("asset cache: %s; served from PostgreSQL as it is, not cached", exc)
                return text.encode()
        self._kept(file_name(digest, "identity"), stored)
        return stored.data

    async def _in_memory(self, digest: bytes, encoding: str, size: int | None, fetch: Fetch) -> _Made:
        data = await self._identity(digest, size, fetch)
        if data is None:
            return _GONE
        if encoding == "identity":
            return data
        async with self._slot():
            return await asyncio.to_thread(asset_files.compress, data, encoding)

    async def _verified(self, path: Path, digest: bytes, encoding: str, size: int | None) -> asset_files.Found | None:
        async with self._slot():
            found = await asyncio.to_thread(asset_files.verify, path, digest, encoding, size)
        if found is not None:
            self._remember(path.name, found.stamp)
        return found

    def _kept(self, name: str, stored: asset_files.Stored) -> bytes | None:
        """None when `stored` is now a file (served from it), else its bytes (served from memory)."""
        if stored.stamp is None:
            return stored.data
        self._remember(name, stored.stamp)
        if self._kept_bytes is not None:
            self._kept_bytes += stored.stamp.size
        if self._kept_bytes is None or self._kept_bytes > self._capacity:
            self._evict_soon()
        return None

    def _remember(self, name: str, stamp: Stamp) -> None:
        self._let_go(name)  # a descriptor of what was there before, if any
        self._known[name] = _Known(stamp, time.monotonic())
        self._known.move_to_end(name)
        while len(self._known) > MAX_KNOWN:
            self._forget(next(iter(self._known)))

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._work is None:
            self._work = asyncio.Semaphore(CONCURRENT_WORK)
        async with self._work:
            yield

    async def _ensure_directory(self) -> Path | None:
        """The directory, made at first use; None (logged once) when it cannot be: assets are then
        served from memory, never refused."""
        if self._directory is None and not self._unusable:
            try:
                self._directory = await asyncio.to_thread(self._make_directory)
            except OSError as exc:
                log.error("asset cache: cannot use %s (%s); serving assets from memory", self._configured, exc)
                self._unusable = True
        return self._directory

    def _make_directory(self) -> Path:
        if self._configured is None:
            self._owned = True
            return Path(tempfile.mkdtemp(prefix="wharf-assets-"))
        self._configured.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self._configured

    def _evict_soon(self) -> None:
        if self._eviction is None or self._eviction.done():
            self._eviction = asyncio.create_task(self._evict())

    async def _evict(self) -> None:
        directory = self._directory
        if directory is None:
            return
        try:
            self._kept_bytes, deleted = await asyncio.to_thread(asset_files.evict, directory, self._capacity)
        except OSError as exc:
            log.warning("asset cache: cannot scan %s for eviction: %s", directory, exc)
            return
        for name in deleted:
            self._forget(name)

    async def close(self) -> None:
        """Wait for an eviction under way; let the held files go; remove the directory if it was
        this process's own."""
        if self._eviction is not None:
            await self._eviction
        while self._held:
            os.close(self._held.popitem()[1])
        if self._owned and self._directory is not None:
            await asyncio.to_thread(shutil.rmtree, self._directory, True)
            self._directory = None


@functools.lru_cache(maxsize=256)
def choose_encoding(accept_encoding: str) -> str:
    """Brotli, else gzip, else identity, honouring q=0 refusals. Remembered by the header's text:
    clients send a handful of distinct values, and this runs for every asset sent."""
    offered: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name:
            offered[name.strip()] = quality
    for encoding in ("br", "gzip"):
        if offered.get(encoding, offered.get("*", 0.0)) > 0:
            return encoding
    return "identity"


def point_to_source_map(bundle: bytes, map_url: str) -> bytes:
    """Make the bundle's `//# sourceMappingURL=` comment name `map_url` (added if missing)."""
    comment = b"//# sourceMappingURL=" + map_url.encode()
    tail_start = max(0, len(bundle) - 4096)
    tail = bundle[tail_start:]
    match = _SOURCE_MAPPING_URL.search(tail)
    if match is not None:
        return bundle[: tail_start + match.start()] + comment + b"\n"
    separator = b"" if bundle.endswith(b"\n") or not bundle else b"\n"
    return bundle + separator + comment + b"\n"
