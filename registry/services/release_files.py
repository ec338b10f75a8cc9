"""A release's bundle and source map as stored: the bundle pointed at its source map's address,
both decoded for their text columns and digested (SHA-256 of each, the bundle's SHA-384 for
Subresource Integrity), each once, and off the event loop.

The stored bundle names its source map's address in its last line, and that address holds the
release's id, which the publish learns only inside its transaction. Everything before that line is
known earlier: `FileDigests.start` digests and decodes it in worker threads (hashlib releases the
GIL for large inputs, so the two digests of a 1 MiB bundle run on two cores, 1.5 ms together where
they took 2.1 ms on the event loop one after the other) while the publish makes its round trips to
the database; `finish` adds the last line to copies of the digests once the address is known.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import TYPE_CHECKING

from registry.asset_cache import point_to_source_map
from registry.domain.record import Record
from registry.services.publish_checks import content_sha256
from registry.store.releases import StoredFiles

if TYPE_CHECKING:
    from hashlib import _Hash

_LINK = b"//# sourceMappingURL="


class _Kept(Record):
    """The bundle up to its source map link, digested and decoded (the bundle whole when it keeps
    no link), and the SHA-256 of the bundle as it was sent; the source map decoded, and its digest."""

    data: bytes
    text: str
    sha256: _Hash
    sha384: _Hash
    sent_sha256: bytes
    source_map: str | None
    source_map_sha256: bytes | None


_NOTHING_SHA256 = hashlib.sha256(b"").digest()


def _digest(data: bytes, algorithm: str) -> _Hash:
    return hashlib.new(algorithm, data)


def _sha256_of_both(kept: bytes, sent: bytes) -> tuple[_Hash, bytes]:
    """The SHA-256 of the kept part (to be continued with the link) and the digest of the bundle as
    sent, the bytes they share digested once: the kept part is a prefix of the bundle sent (a link
    cut off) or the bundle sent is a prefix of it (a line end added), see `kept_part`."""
    shared = min(len(kept), len(sent))
    common = hashlib.sha256(memoryview(kept)[:shared])
    of_kept, of_sent = common.copy(), common
    of_kept.update(memoryview(kept)[shared:])
    of_sent.update(memoryview(sent)[shared:])
    return of_kept, of_sent.digest()


def _decode_source_map(source_map: bytes | None) -> tuple[str | None, bytes | None]:
    if source_map is None:
        return None, None
    return source_map.decode(), hashlib.sha256(source_map).digest()


def kept_part(bundle: bytes) -> bytes:
    """The bytes of `bundle` that stay when it is pointed at its source map (see
    registry.asset_cache.point_to_source_map, which gives the kept part followed by the link)."""
    linked = point_to_source_map(bundle, "")
    if not linked.endswith(_LINK + b"\n"):  # pragma: no cover - point_to_source_map's contract
        raise RuntimeError("point_to_source_map no longer ends the bundle with its link")
    return linked[: -len(_LINK) - 1]


class FileDigests:
    """The digesting and decoding of one publish's files, started before its transaction."""

    def __init__(self, bundle: bytes | None, source_map: bytes | None, job: asyncio.Future[_Kept] | None) -> None:
        self._bundle = bundle
        self._source_map = source_map
        self._job = job

    @classmethod
    def start(cls, bundle: bytes | None, source_map: bytes | None) -> FileDigests:
        """Start on a bundle (pointed at its source map when there is one) and source map; the
        work runs in threads from here on, and `finish` collects it."""
        if bundle is None:
            return cls(None, source_map, None)
        kept = kept_part(bundle) if source_map is not None else bundle
        return cls(bundle, source_map, asyncio.ensure_future(_kept(kept, bundle, source_map)))

    async def content_sha256(self, manifest_sha256: bytes) -> bytes:
        """The release's content digest (registry.services.publish_checks.content_sha256), from the
        files' digests made here rather than by hashing them again."""
        if self._job is None:
            _, map_sha256 = await asyncio.to_thread(_decode_source_map, self._source_map)
            return content_sha256(manifest_sha256, _NOTHING_SHA256, map_sha256 or _NOTHING_SHA256)
        kept = await self._job
        return content_sha256(manifest_sha256, kept.sent_sha256, kept.source_map_sha256 or _NOTHING_SHA256)

    async def finish(self, map_url: str | None) -> StoredFiles:
        """The stored columns, the bundle's last line naming `map_url` (the source map's address,
        asked only when there is a source map)."""
        if self._job is None:
            text, map_sha256 = await asyncio.to_thread(_decode_source_map, self._source_map)
            return StoredFiles(None, None, None, None, text, map_sha256, _size(self._source_map))
        kept = await self._job
        sha256, sha384, data, text = kept.sha256, kept.sha384, kept.data, kept.text
        if self._source_map is not None:
            if map_url is None:
                raise ValueError("a bundle with a source map is stored naming the map's address")
            link = _LINK + map_url.encode() + b"\n"
            sha256, sha384 = sha256.copy(), sha384.copy()
            sha256.update(link)
            sha384.update(link)
            data, text = data + link, text + link.decode()
        return StoredFiles(
            bundle=text,
            bundle_sha256=sha256.digest(),
            bundle_size=len(data),
            bundle_integrity="sha384-" + base64.b64encode(sha384.digest()).decode() if data else None,
            source_map=kept.source_map,
            source_map_sha256=kept.source_map_sha256,
            source_map_size=_size(self._source_map),
        )

    def cancel(self) -> None:
        """The publish ended before `finish` (refused, or an identical re-publish)."""
        if self._job is not None:
            self._job.cancel()


async def _kept(data: bytes, sent: bytes, source_map: bytes | None) -> _Kept:
    (sha256, sent_sha256), sha384, text, (map_text, map_sha256) = await asyncio.gather(
        asyncio.to_thread(_sha256_of_both, data, sent),
        asyncio.to_thread(_digest, data, "sha384"),
        asyncio.to_thread(bytes.decode, data),
        asyncio.to_thread(_decode_source_map, source_map),
    )
    return _Kept(data, text, sha256, sha384, sent_sha256, map_text, map_sha256)


def _size(data: bytes | None) -> int | None:
    return None if data is None else len(data)
