"""Releases: immutable once published; yanked by soft delete; versions never reused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

_COLUMNS = (
    "r.id, r.registry_extension_id, cu.username::text AS creator, r.release_version::text AS version,"
    " r.release_tag::text AS tag, r.manifest, r.created_at, r.deleted_at, r.bundle_sha256, r.bundle_size,"
    " r.bundle_integrity, r.source_map_sha256, r.source_map_size, r.content_sha256,"
    " r.bundle IS NOT NULL AS has_bundle, r.source_map IS NOT NULL AS has_source_map,"
    " coalesce((SELECT sum(d.count) FROM registry_extension_downloads d WHERE d.release_id = r.id), 0)::bigint"
    "   AS downloads"
)
_FROM = " FROM registry_extension_releases r JOIN users cu ON cu.id = r.creator_user_id"


@dataclass(frozen=True)
class Release:
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


def _release(row: asyncpg.Record) -> Release:
    return Release(**dict(row))


@dataclass(frozen=True)
class NewRelease:
    extension_pk: int
    creator_user_id: int
    version: str | None  # None: an unversioned release (Sourcegraph's NULL release_version)
    tag: str
    manifest: str
    content_sha256: bytes
    bundle: str | None  # None: the manifest's `url` names where the bundle lives
    bundle_sha256: bytes | None
    bundle_size: int | None
    bundle_integrity: str | None
    source_map: str | None
    source_map_sha256: bytes | None
    source_map_size: int | None


async def next_release_id(conn: asyncpg.Connection) -> int:
    """Reserve the id of a release about to be inserted (its bundle names its own source map URL)."""
    release_id: int = await conn.fetchval("SELECT nextval('registry_extension_releases_id_seq')")
    return release_id


async def insert_release(conn: asyncpg.Connection, release_id: int, new: NewRelease) -> None:
    """Insert; a used version (even a yanked one) violates `registry_extension_releases_version`."""
    await conn.execute(
        "-- source: registry/store/releases.py:insert_release\n"
        "INSERT INTO registry_extension_releases (id, registry_extension_id, creator_user_id, release_version,"
        " release_tag, manifest, content_sha256, bundle, bundle_sha256, bundle_size, bundle_integrity, source_map,"
        " source_map_sha256, source_map_size) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        release_id,
        new.extension_pk,
        new.creator_user_id,
        new.version,
        new.tag,
        new.manifest,
        new.content_sha256,
        new.bundle,
        new.bundle_sha256,
        new.bundle_size,
        new.bundle_integrity,
        new.source_map,
        new.source_map_sha256,
        new.source_map_size,
    )


async def releases_of(
    conn: asyncpg.Connection, extension_pk: int, *, tag: str | None = None, include_yanked: bool = False
) -> list[Release]:
    """Metadata of an extension's releases (of one tag, if given); never bundles."""
    rows = await conn.fetch(
        f"-- source: registry/store/releases.py:releases_of\nSELECT {_COLUMNS}{_FROM}"
        " WHERE r.registry_extension_id = $1 AND ($2::text IS NULL OR r.release_tag = $2::citext)"
        " AND ($3 OR r.deleted_at IS NULL)",
        extension_pk,
        tag,
        include_yanked,
    )
    return [_release(row) for row in rows]


async def release_by_version(
    conn: asyncpg.Connection, extension_pk: int, version: str, *, include_yanked: bool = False
) -> Release | None:
    row = await conn.fetchrow(
        f"-- source: registry/store/releases.py:release_by_version\nSELECT {_COLUMNS}{_FROM}"
        " WHERE r.registry_extension_id = $1 AND r.release_version = $2::citext AND ($3 OR r.deleted_at IS NULL)",
        extension_pk,
        version,
        include_yanked,
    )
    return _release(row) if row else None


async def release_by_id(conn: asyncpg.Connection, release_id: int) -> Release | None:
    """A live release of a live extension of a live publisher: what every asset route may serve
    (the by-name routes reach releases through live extensions of live publishers only)."""
    row = await conn.fetchrow(
        f"-- source: registry/store/releases.py:release_by_id\nSELECT {_COLUMNS}{_FROM}"
        " JOIN registry_extensions e ON e.id = r.registry_extension_id AND e.deleted_at IS NULL"
        " LEFT JOIN users pu ON pu.id = e.publisher_user_id"
        " LEFT JOIN orgs po ON po.id = e.publisher_org_id"
        " WHERE r.id = $1 AND r.deleted_at IS NULL AND pu.deleted_at IS NULL AND po.deleted_at IS NULL",
        release_id,
    )
    return _release(row) if row else None


async def asset_of(conn: asyncpg.Connection, release_id: int, kind: str) -> str | None:
    """The bundle or source map text of a release (the one read of the big column)."""
    column = {"bundle": "bundle", "source_map": "source_map"}[kind]
    text: str | None = await conn.fetchval(
        f"-- source: registry/store/releases.py:asset_of\n"
        f"SELECT {column} FROM registry_extension_releases WHERE id = $1",
        release_id,
    )
    return text


async def yank_release(conn: asyncpg.Connection, release_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/releases.py:yank_release\n"
        "UPDATE registry_extension_releases SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
        release_id,
    )
    return bool(status == "UPDATE 1")
