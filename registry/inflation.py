"""Compressed request bodies (Content-Encoding: gzip, deflate, br), inflated as they are read, and
only as far as the reader's limits allow.

aiohttp's own decompression is turned off (registry.app): it inflates a body whether or not a
handler reads it. A publish refused with 401 before its body was read was still inflated in
full when aiohttp drained the connection, 45 MB from a 45 KB gzip bomb, on the event loop (four
at once held /healthz for 0.4 s). Here a body is inflated only by the handler that reads it, a
chunk at a time, each chunk to at most the room left under the size limit and under
`max_ratio` times the compressed bytes received (past the first MiB), so no single step can
inflate more than a bounded amount.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli

from registry.domain.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

INFLATION_FLOOR = 1 << 20  # a body this small may inflate as it likes: its size bounds the work


class Inflater:
    """One body's decompressor; `inflate` each compressed chunk in order."""

    def __init__(self, encoding: str, *, limit: int, max_ratio: int) -> None:
        self.limit = limit
        self.max_ratio = max_ratio
        self.compressed = 0
        self.inflated = 0
        self._step = self._decoder(encoding.strip().lower())

    @staticmethod
    def _decoder(encoding: str) -> Callable[[bytes, int], bytes]:
        if encoding in ("gzip", "x-gzip", "deflate"):
            return _Zlib(raw_allowed=encoding == "deflate")
        if encoding == "br":
            decoder = brotli.Decompressor()
            return lambda chunk, room: bytes(decoder.process(chunk, output_buffer_limit=room))
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not accepted; send gzip, deflate or br.")

    def inflate(self, chunk: bytes) -> bytes:
        """The next part of the body; 413 past the size limit or the ratio, 400 when corrupt."""
        self.compressed += len(chunk)
        allowed = max(INFLATION_FLOOR, self.max_ratio * self.compressed) - self.inflated
        room = min(self.limit - self.inflated, allowed)
        try:
            out = self._step(chunk, room + 1)
        except (zlib.error, brotli.error) as exc:
            raise BadRequest("The compressed request body is corrupt.") from exc
        self.inflated += len(out)
        if self.inflated > self.limit:
            raise PayloadTooLarge(f"The request body inflates past the limit of {self.limit} bytes.")
        if len(out) > allowed:
            raise PayloadTooLarge(
                f"The compressed request body inflates more than {self.max_ratio} times"
                " (WHARF_MAX_DECOMPRESSION_RATIO)."
            )
        return out


class _Zlib:
    """gzip or zlib, told apart by their header (wbits 32 + 15); for "deflate", raw deflate too
    when the first byte is no zlib header, as some clients send it (and aiohttp accepts it)."""

    def __init__(self, *, raw_allowed: bool) -> None:
        self._decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)
        self._raw_allowed = raw_allowed
        self._started = False

    def __call__(self, chunk: bytes, room: int) -> bytes:
        if not self._started and chunk:
            self._started = True
            if self._raw_allowed and chunk[0] & 0x0F != 8:
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
        # At most `room` bytes out; the caller refuses the body when that much comes out, so the
        # input never has to be taken up again from `unconsumed_tail`.
        return self._decoder.decompress(chunk, room)
