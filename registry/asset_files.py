"""The content-addressed directory of bundles and source maps: the work done in a thread.

An asset is stored under the hex sha256 of its bytes (`<hex>`), its compressed forms beside it
(`<hex>.gz`, `<hex>.br`). Every file is written under a temporary name and renamed over its own,
so a reader (this process, or another worker sharing the directory) finds a whole file or none,
and two writers of one name write the same bytes: a race between them is harmless.

Nothing here trusts the directory. A file is answered only after its bytes were hashed against
its name (a compressed one after being inflated, within the asset's size), and one that does not
match is deleted, to be made again from PostgreSQL, which stays the source of truth.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import os
import secrets
import time
from pathlib import Path

import brotli

from registry.domain.errors import BadRequest, PayloadTooLarge
from registry.domain.record import Record
from registry.inflation import Inflater

log = logging.getLogger("wharf.assets")

SUFFIXES = {"identity": "", "gzip": ".gz", "br": ".br"}
TEMP_PREFIX = ".tmp-"
KEEP_FRACTION = 0.9  # an eviction leaves the directory this full, so the next is not one file away
_BROTLI_QUALITY = 5  # ~20 ms per MiB here, within a few % of quality 11's size for minified JS
_GZIP_LEVEL = 6
_STALE_TEMP_SECONDS = 3600.0  # a temporary file this old was left by a writer that died
_NO_RATIO_LIMIT = 1 << 30  # inflating a sibling is bounded by the asset's size alone


class Stamp(Record):
    """What a verified file looked like: while its inode, size and mtime stay, so do its bytes
    (writing to a file moves its mtime; replacing it changes its inode)."""

    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Stamp:
        return cls(st.st_ino, st.st_size, st.st_mtime_ns)


class Found(Record):
    """A verified file's stamp, and the asset's bytes as read from it (decoded)."""

    stamp: Stamp
    data: bytes


class Stored(Record):
    """Bytes to serve, and the stamp of the file now holding them; None when the directory could
    not take them (full, read-only): they are answered from memory then, never refused."""

    data: bytes
    stamp: Stamp | None


class AssetMismatch(Exception):
    """PostgreSQL's text of an asset does not hash to the digest recorded with it at publish."""


def file_name(digest: bytes, encoding: str) -> str:
    return digest.hex() + SUFFIXES[encoding]


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(data, quality=_BROTLI_QUALITY))
    return gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0)


def verify(path: Path, digest: bytes, encoding: str, size: int | None) -> Found | None:
    """The file at `path` if it holds the asset whose sha256 is `digest` (`size` bytes, when
    known) in `encoding`; None when there is no such file. A file that holds anything else is
    deleted: it is never served."""
    limit = None if size is None else size + size // 4 + 1024  # a compressed form is no larger
    try:
        with open(path, "rb") as file:
            st = os.fstat(file.fileno())
            raw = file.read() if limit is None else file.read(limit + 1)
    except FileNotFoundError:
        return None
    data = _decoded(raw, encoding, size)
    if data is not None and hashlib.sha256(data).digest() == digest:
        return Found(Stamp.of(st), data)
    log.warning("asset cache: %s does not hold what its name says; deleted, made again", path.name)
    remove(path)
    return None


def _decoded(raw: bytes, encoding: str, size: int | None) -> bytes | None:
    if encoding == "identity":
        return raw if size is None or len(raw) == size else None
    try:
        return Inflater(encoding, limit=size or len(raw) * 64, max_ratio=_NO_RATIO_LIMIT).inflate(raw)
    except (BadRequest, PayloadTooLarge):
        return None


def store_text(directory: Path, digest: bytes, text: str) -> Stored:
    """The asset as PostgreSQL holds it (`text`), checked against its digest and written."""
    data = text.encode()
    if hashlib.sha256(data).digest() != digest:
        raise AssetMismatch(f"the stored asset does not hash to {digest.hex()}")
    return Stored(data, write(directory, file_name(digest, "identity"), data))


def store_compressed(directory: Path, digest: bytes, encoding: str, data: bytes) -> Stored:
    """The asset's `encoding` form, made from its verified bytes and written beside it."""
    body = compress(data, encoding)
    return Stored(body, write(directory, file_name(digest, encoding), body))


def write(directory: Path, name: str, data: bytes) -> Stamp | None:
    """Write `data` as `name` atomically; None (logged) when the directory cannot take it."""
    temp = directory / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
    try:
        with open(temp, "xb") as file:
            file.write(data)
            file.flush()  # stamped as written, not as the buffer left it
            st = os.fstat(file.fileno())
        os.replace(temp, directory / name)
    except OSError as exc:
        remove(temp)
        log.warning("asset cache: cannot write %s (%s); serving it from memory", name, exc)
        return None
    return Stamp.of(st)


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def evict(directory: Path, capacity: int) -> tuple[int, list[str]]:
    """Keep the directory within `capacity` bytes: past it, delete the least recently used files
    (by atime, which the serving processes move forward as they serve: AssetCache) until it
    holds at most KEEP_FRACTION of it. Returns the bytes kept and the names deleted. A file
    another process is sending stays readable to it until it closes it (POSIX unlink)."""
    now = time.time()
    kept: list[tuple[int, str, int]] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if entry.name.startswith(TEMP_PREFIX):
                if now - st.st_mtime > _STALE_TEMP_SECONDS:
                    remove(Path(entry.path))
                continue
            kept.append((st.st_atime_ns, entry.name, st.st_size))
    total = sum(size for _, _, size in kept)
    deleted: list[str] = []
    if total > capacity:
        for _, name, size in sorted(kept):
            if total <= capacity * KEEP_FRACTION:
                break
            remove(directory / name)
            total -= size
            deleted.append(name)
    return total, deleted
