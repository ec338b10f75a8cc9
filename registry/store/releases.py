"""Releases: immutable once published; yanked by soft delete; versions never reused."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow
from registry.domain.record import Record

_SQL = queries.load(__file__)


class Release(FromRow):
    """A release's metadata; the bundle and source map are read separately, when served."""

    id: int
    registry_extension_id: int
    creator: str
    version: str | None
    tag: str
    manifest: str
    created_at: datetime
    deleted_at: datetime | None
    bundle_sha256: bytes | None
    bundle_size: int | None
    bundle_integrity: str | None
    source_map_sha256: bytes | None
    source_map_size: int | None
    content_sha256: bytes | None
    has_bundle: bool
    has_source_map: bool
    downloads: int


class StoredFiles(Record):
    """The columns of a release that its bundle and source map fill."""

    bundle: str | None  # None: the manifest's `url` names where the bundle lives
    bundle_sha256: bytes | None
    bundle_size: int | None
    bundle_integrity: str | None
    source_map: str | None
    source_map_sha256: bytes | None
    source_map_size: int | None


class NewRelease(StoredFiles):
    """A release to insert: its files, and what the publish says of them."""

    extension_pk: int
    creator_user_id: int
    version: str | None  # None: an unversioned release (Sourcegraph's NULL release_version)
    tag: str
    manifest: str
    content_sha256: bytes


class ReleaseSlot(FromRow):
    """The id reserved for a release about to be inserted, and the id of the extension's release
    of its version when there is one already (None for an unversioned release)."""

    release_id: int
    published_id: int | None


async def next_release_id(conn: asyncpg.Connection, extension_pk: int, version: str | None) -> ReleaseSlot:
    """Reserve the id of a release about to be inserted (its bundle names its own source map URL),
    and say whether `version` is published already (yanked too): one round trip for both."""
    return await _SQL.next_release_id.single(conn, ReleaseSlot, extension_pk=extension_pk, version=version)


async def insert_release(conn: asyncpg.Connection, release_id: int, new: NewRelease) -> None:
    """Insert; a used version (even a yanked one) violates `registry_extension_releases_version`."""
    await _SQL.insert_release.execute(conn, release_id=release_id, **asdict(new))


async def releases_of(
    conn: asyncpg.Connection, extension_pk: int, *, tag: str | None = None, include_yanked: bool = False
) -> list[Release]:
    """Metadata of an extension's releases (of one tag, if given); never bundles."""
    return await _SQL.releases_of.all(conn, Release, extension_pk=extension_pk, tag=tag, include_yanked=include_yanked)


async def live_releases_by_ids(conn: asyncpg.Connection, extension_pk: int, release_ids: list[int]) -> list[Release]:
    """The live releases of an extension among `release_ids` (metadata only)."""
    return await _SQL.live_releases_by_ids.all(conn, Release, extension_pk=extension_pk, release_ids=release_ids)


async def release_by_version(
    conn: asyncpg.Connection, extension_pk: int, version: str, *, include_yanked: bool = False
) -> Release | None:
    return await _SQL.release_by_version.one(
        conn, Release, extension_pk=extension_pk, version=version, include_yanked=include_yanked
    )


async def release_by_id(conn: asyncpg.Connection, release_id: int) -> Release | None:
    """A live release of a live extension of a live publisher: what every asset route may serve."""
    return await _SQL.release_by_id.one(conn, Release, release_id=release_id)


async def asset_of(conn: asyncpg.Connection, release_id: int, kind: str) -> str | None:
    """The bundle or source map text of a release (the one read of the big column)."""
    query = {"bundle": _SQL.bundle_of, "source_map": _SQL.source_map_of}[kind]
    text: str | None = await query.fetchval(conn, release_id=release_id)
    return text


async def yank_release(conn: asyncpg.Connection, release_id: int) -> bool:
    status = await _SQL.yank_release.execute(conn, release_id=release_id)
    return status == "UPDATE 1"
