"""Serialized answers of the hot read routes, kept in memory until what they were read from changes.

An extension's metadata (the JSON API's and Sourcegraph's), listing and search pages, and the fact
that an extension does not exist are answered here without touching PostgreSQL, JSON or a hash:
each entry holds the answer's bytes and their strong ETag, and the tags of what it was read from
(registry.ttl_cache). Coherence is migration 10's and 13's announcements, on every node:

    extension:<id>                   an extension's answers (its releases, listing fields, name, fate)
    publisher:<name>                 answers under a publisher name (renamed, deleted, retired, created)
    extension-name:<publisher>/<name>  an extension came to be under that name (a negative entry)
    listing                          every listing page: any extension or publisher change drops them

Nothing cached depends on who asks: these routes render the same answer for every actor (no
extension is private; work in progress is listed by a query parameter, not by the actor), so the
key is what the request names, never its credentials. An entry lives at most `ttl_seconds`, which
the app sets to the download counter's flush interval: download counts are written every interval
without an announcement (migration 10 keeps that column silent), so a cached answer's counts are at
most one flush behind the database's, which is itself at most one flush behind the truth.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable
from typing import Any

import orjson

from registry.domain.record import Record
from registry.ttl_cache import TtlCache

LISTING = "listing"
MAX_ENTRIES = 50_000
_LISTED_BY = frozenset({"extension", "publisher", "extension-name"})


class CachedBody(Record):
    """An answer's bytes, their strong ETag, and what they were read from."""

    body: bytes
    etag: str
    tags: tuple[str, ...]


class Absent(Record):
    """The fact that nothing is there (a 404's `detail`), and the names whose creation would end it.
    The problem+json itself is rendered per request: it carries the request's id."""

    detail: str
    tags: tuple[str, ...]


Cached = CachedBody | Absent


def cached_body(data: Any, tags: Iterable[str]) -> CachedBody:
    """`data` serialized as every JSON answer is (orjson, registry.http.json_response), with the
    ETag of those bytes."""
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return CachedBody(body, etag_of(body), tuple(tags))


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _tags(key: Hashable, value: Cached) -> Iterable[str]:
    return value.tags


def _weight(value: Cached) -> int:
    return len(value.body) + 200 if isinstance(value, CachedBody) else len(value.detail) + 200


class ResponseCache(TtlCache[Cached]):
    """The app's one cache of serialized answers, bounded in entries and in bytes."""

    def __init__(self, ttl_seconds: float, max_bytes: int, max_entries: int = MAX_ENTRIES) -> None:
        super().__init__(ttl_seconds, max_entries=max_entries, tags=_tags, weigh=_weight, max_weight=max_bytes)

    def invalidate(self, payload: str) -> None:
        """What the payload names, and every listing when an extension or a publisher changed
        (a listing may show it, or now has to)."""
        super().invalidate(payload)
        if payload.partition(":")[0] in _LISTED_BY:
            super().invalidate(LISTING)


def negative_tags(publisher: str, name: str) -> tuple[str, ...] | None:
    """The announcements that would make `publisher/name` exist, for a not-found worth keeping; None
    when the names are not plain ASCII names, whose case folding in PostgreSQL (citext, under the
    database's locale) may differ from Python's (registry.names) — those are not kept."""
    if not (publisher.isascii() and name.isascii() and publisher.isprintable() and name.isprintable()):
        return None
    if "/" in publisher or "/" in name or len(publisher) > 255 or len(name) > 255:
        return None
    folded = f"{publisher.lower()}/{name.lower()}"
    return (f"publisher:{publisher.lower()}", f"extension-name:{folded}")
