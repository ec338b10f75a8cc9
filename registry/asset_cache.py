"""Serving bundles and source maps: a content-addressed cache on local disk, sent by sendfile.

A bundle is immutable once published and named by its sha256 (recorded at publish), so a host
keeps each asset once, as a file named by that digest, with its gzip and brotli forms beside it
(registry.asset_files), made once, off the event loop, and shared by every worker process that
is given the same directory (WHARF_ASSET_CACHE_DIR). A warm request opens the file and the
kernel sends it (registry.asset_response); PostgreSQL is read once per cold asset, however many
ask at once.

A file is served only as verified: hashed against its name the first time this process meets
it, and again whenever its inode, size or mtime differ from what was verified (checked with an
fstat of the opened file on every request, so what is sent is what was checked). A file that
does not match is deleted and made again from PostgreSQL. The directory is bounded in bytes
(WHARF_BUNDLE_CACHE_BYTES), least recently used files evicted.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
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
CONCURRENT_WORK = 2  # hashings and compressions at once: each is up to tens of ms of a core

Fetch = Callable[[], Awaitable[str | None]]
"""Reads the asset's text from PostgreSQL; None when the release no longer has it."""


class AssetBody:
    """An asset ready to send: an open, verified file (sent with sendfile), or its bytes when the
    directory could not take them. It owns the file: whoever sends it closes it (`close`)."""

    __slots__ = ("data", "encoding", "file", "size")

    def __init__(self, encoding: str, *, file: io.FileIO | None = None, data: bytes | None = None) -> None:
        self.encoding = encoding
        self.file = file
        self.data = data
        self.size = os.fstat(file.fileno()).st_size if file is not None else len(data or b"")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


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
        """The verified file `name`, opened, if it is still what was verified. An open and an
        fstat of a local file are microseconds: done here, not in a thread, on the hot path."""
        known = self._known.get(name)
        if known is None or self._directory is None:
            return None
        try:
            # a str join: half of pathlib's cost, on the hot path
            file = io.FileIO(os.path.join(self._directory, name), "r")
        except OSError:
            del self._known[name]
            return None
        st = os.fstat(file.fileno())
        if (st.st_ino, st.st_size, st.st_mtime_ns) != (known.stamp.ino, known.stamp.size, known.stamp.mtime_ns):
            file.close()
            del self._known[name]  # changed since verified: verified again before it is served
            return None
        self._known.move_to_end(name)
        now = time.monotonic()
        if now - known.touched > TOUCH_SECONDS:
            known.touched = now
            with contextlib.suppress(OSError):
                os.utime(file.fileno(), ns=(time.time_ns(), st.st_mtime_ns))
        return AssetBody(encoding, file=file)

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
        self._known[name] = _Known(stamp, time.monotonic())
        self._known.move_to_end(name)
        while len(self._known) > MAX_KNOWN:
            self._known.popitem(last=False)

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
            self._known.pop(name, None)

    async def close(self) -> None:
        """Wait for an eviction under way; remove the directory if it was this process's own."""
        if self._eviction is not None:
            await self._eviction
        if self._owned and self._directory is not None:
            await asyncio.to_thread(shutil.rmtree, self._directory, True)
            self._directory = None


def choose_encoding(accept_encoding: str) -> str:
    """Brotli, else gzip, else identity, honouring q=0 refusals."""
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
