"""Settings: global, per-org and per-user JSONC documents, one row per version (history kept).

A subject's current settings are its newest row (highest id). Writers serialise per subject on an
advisory transaction lock (`lock_subject`), taken before `insert_version` compares the newest id
with the one the writer edited; under READ COMMITTED the comparison alone would be racy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

SubjectKind = Literal["global", "org", "user"]


@dataclass(frozen=True)
class Subject:
    """Whose settings: the whole site, an org (org_id) or a user (user_id)."""

    kind: SubjectKind
    name: str | None = None
    org_id: int | None = None
    user_id: int | None = None

    @property
    def lock_key(self) -> str:
        return f"settings:{self.kind}:{self.org_id or self.user_id or 0}"


@dataclass(frozen=True)
class Version:
    id: int
    contents: str | None
    author: str | None
    created_at: datetime


@dataclass(frozen=True)
class CascadeLevel:
    """One subject of a user's cascade and its current version (id None: no settings yet). The
    texts are left out (None) when the cascade is over the size it was read with."""

    kind: SubjectKind
    name: str | None
    id: int | None
    bytes: int  # of the parsed form (of the contents when not parsed yet); 0 without settings
    contents: str | None  # only when not parsed yet
    parsed: str | None  # the contents as strict JSON, kept when written (None: not parsed yet)


@dataclass(frozen=True)
class EnabledExtension:
    """An extension named in settings, found live, with its latest release (None: unpublished)."""

    extension_id: str
    uuid: str
    release_id: int | None
    version: str | None
    released_at: datetime | None


# The rows of a subject; $1 is the org id, $2 the user id (both NULL for global settings). Fixed
# fragments, so that an index on (org_id, id) or (user_id, id) would serve them.
_MATCH: dict[SubjectKind, str] = {
    "global": "s.org_id IS NULL AND s.user_id IS NULL AND $1::int IS NULL AND $2::int IS NULL",
    "org": "s.org_id = $1::int AND s.user_id IS NULL AND $2::int IS NULL",
    "user": "s.user_id = $2::int AND s.org_id IS NULL AND $1::int IS NULL",
}

_VERSION_COLUMNS = "s.id, s.contents, a.username::text AS author, s.created_at"


def _version(row: asyncpg.Record) -> Version:
    return Version(row["id"], row["contents"], row["author"], row["created_at"])


async def current_version(conn: asyncpg.Connection, subject: Subject) -> Version | None:
    row = await conn.fetchrow(
        f"-- source: registry/store/settings.py:current_version\nSELECT {_VERSION_COLUMNS} FROM settings s"
        f" LEFT JOIN users a ON a.id = s.author_user_id WHERE {_MATCH[subject.kind]} ORDER BY s.id DESC LIMIT 1",
        subject.org_id,
        subject.user_id,
    )
    return _version(row) if row else None


async def history(conn: asyncpg.Connection, subject: Subject, *, before_id: int | None, limit: int) -> list[Version]:
    """The subject's versions, newest first, older than `before_id` when given; `limit` at most."""
    rows = await conn.fetch(
        f"-- source: registry/store/settings.py:history\nSELECT {_VERSION_COLUMNS} FROM settings s"
        f" LEFT JOIN users a ON a.id = s.author_user_id WHERE {_MATCH[subject.kind]}"
        " AND ($3::int IS NULL OR s.id < $3::int) ORDER BY s.id DESC LIMIT $4",
        subject.org_id,
        subject.user_id,
        before_id,
        limit,
    )
    return [_version(row) for row in rows]


async def lock_subject(conn: asyncpg.Connection, subject: Subject) -> None:
    """Serialise writers of one subject until the transaction ends (call inside one)."""
    await conn.execute(
        "-- source: registry/store/settings.py:lock_subject\nSELECT pg_advisory_xact_lock(hashtext($1))",
        subject.lock_key,
    )


async def insert_version(
    conn: asyncpg.Connection, subject: Subject, contents: str, parsed: str, author_user_id: int, last_id: int | None
) -> Version | None:
    """A new version (`contents` as written, `parsed` as strict JSON), written only if the subject's
    newest id is `last_id` (None: no rows yet); None when it is not. Run after `lock_subject`, in the
    same transaction."""
    row = await conn.fetchrow(
        "-- source: registry/store/settings.py:insert_version\n"  # noqa: S608 (fixed fragments only)
        "WITH inserted AS ("
        "  INSERT INTO settings (org_id, user_id, contents, author_user_id, parsed)"
        "  SELECT $1::int, $2::int, $3::text, $4::int, $6::text"
        f"  WHERE (SELECT max(s.id) FROM settings s WHERE {_MATCH[subject.kind]}) IS NOT DISTINCT FROM $5::int"
        "  RETURNING id, contents, author_user_id, created_at"
        ") SELECT s.id, s.contents, a.username::text AS author, s.created_at"
        " FROM inserted s LEFT JOIN users a ON a.id = s.author_user_id",
        subject.org_id,
        subject.user_id,
        contents,
        author_user_id,
        last_id,
        parsed,
    )
    return _version(row) if row else None


async def keep_parsed(conn: asyncpg.Connection, version_id: int, parsed: str) -> None:
    """Keep the parsed form of a version written without one (around the API)."""
    await conn.execute(
        "-- source: registry/store/settings.py:keep_parsed\n"
        "UPDATE settings SET parsed = $2 WHERE id = $1 AND parsed IS NULL",
        version_id,
        parsed,
    )


async def cascade(conn: asyncpg.Connection, user_id: int, max_bytes: int) -> list[CascadeLevel]:
    """The user's cascade in merge order: global, each live org the user belongs to (by name),
    the user; each with its current version, whose texts are read only if all the levels' add up to
    `max_bytes` at most (sizes are read from the row headers, not the values)."""
    rows = await conn.fetch(
        "-- source: registry/store/settings.py:cascade\n"
        "WITH subjects AS ("
        "  SELECT 0 AS level, 'global' AS kind, NULL::text AS name, NULL::int AS org_id, NULL::int AS user_id"
        "  UNION ALL"
        "  SELECT 1, 'org', o.name::text, o.id, NULL FROM org_members m"
        "    JOIN orgs o ON o.id = m.org_id AND o.deleted_at IS NULL WHERE m.user_id = $1"
        "  UNION ALL"
        "  SELECT 2, 'user', u.username::text, NULL, u.id FROM users u WHERE u.id = $1"
        "), levels AS ("
        " SELECT sub.level, sub.kind, sub.name, cur.id, coalesce(cur.bytes, 0) AS bytes, cur.contents, cur.parsed"
        "   FROM subjects sub"
        " LEFT JOIN LATERAL ("
        "   SELECT s.id, octet_length(coalesce(s.parsed, s.contents)) AS bytes, s.contents, s.parsed FROM settings s"
        "    WHERE s.org_id IS NOT DISTINCT FROM sub.org_id AND s.user_id IS NOT DISTINCT FROM sub.user_id"
        "    ORDER BY s.id DESC LIMIT 1"
        " ) cur ON true"
        ")"
        " SELECT kind, name, id, bytes,"
        "        CASE WHEN sum(bytes) OVER () <= $2 AND parsed IS NULL THEN contents END AS contents,"
        "        CASE WHEN sum(bytes) OVER () <= $2 THEN parsed END AS parsed"
        " FROM levels ORDER BY level, lower(name), name",
        user_id,
        max_bytes,
    )
    return [
        CascadeLevel(row["kind"], row["name"], row["id"], row["bytes"], row["contents"], row["parsed"]) for row in rows
    ]


async def largest_cascade_bytes(conn: asyncpg.Connection, subject: Subject, new_bytes: int) -> int:
    """The largest cascade (in bytes of parsed settings) of the users whose cascade holds `subject`,
    were `subject`'s current settings `new_bytes` long: what a write would make of them. Each
    level's size comes from the row header (no value is read), through the per-subject indexes."""
    value = await conn.fetchval(
        "-- source: registry/store/settings.py:largest_cascade_bytes\n"
        "WITH affected AS ("
        "  SELECT u.id FROM users u WHERE u.deleted_at IS NULL AND ($3::text = 'global'"
        "    OR ($3 = 'user' AND u.id = $2::int)"
        "    OR ($3 = 'org' AND u.id IN (SELECT m.user_id FROM org_members m WHERE m.org_id = $1::int)))"
        "), totals AS ("
        "  SELECT CASE WHEN $3 = 'user' THEN $4::bigint ELSE coalesce(("
        "      SELECT octet_length(coalesce(s.parsed, s.contents)) FROM settings s"
        "       WHERE s.user_id = a.id AND s.org_id IS NULL ORDER BY s.id DESC LIMIT 1), 0) END"
        "    + coalesce(("
        "      SELECT sum(CASE WHEN o.id = $1::int THEN $4::bigint ELSE coalesce(("
        "          SELECT octet_length(coalesce(s.parsed, s.contents)) FROM settings s"
        "           WHERE s.org_id = o.id AND s.user_id IS NULL ORDER BY s.id DESC LIMIT 1), 0) END)"
        "        FROM org_members m JOIN orgs o ON o.id = m.org_id AND o.deleted_at IS NULL WHERE m.user_id = a.id"
        "    ), 0) AS total"
        "  FROM affected a"
        ")"
        " SELECT CASE WHEN $3 = 'global' THEN $4::bigint ELSE coalesce(("
        "     SELECT octet_length(coalesce(s.parsed, s.contents)) FROM settings s"
        "      WHERE s.org_id IS NULL AND s.user_id IS NULL ORDER BY s.id DESC LIMIT 1), 0) END"
        "   + coalesce((SELECT max(total) FROM totals), 0)",
        subject.org_id,
        subject.user_id,
        subject.kind,
        new_bytes,
    )
    return int(value)


async def enabled_extensions(conn: asyncpg.Connection, ids: Sequence[tuple[str, str]]) -> list[EnabledExtension]:
    """The live extensions among `ids` (publisher, name; case-insensitive), each with its latest
    live release, in one query."""
    rows = await conn.fetch(
        "-- source: registry/store/settings.py:enabled_extensions\n"
        "SELECT DISTINCT ON (e.id) coalesce(u.username, o.name)::text || '/' || e.name::text AS extension_id,"
        "       e.uuid::text AS uuid, r.id AS release_id, r.release_version::text AS version,"
        "       r.created_at AS released_at"
        "  FROM unnest($1::text[], $2::text[]) AS wanted(publisher, name)"
        "  JOIN registry_extensions e ON e.name = wanted.name::citext AND e.deleted_at IS NULL"
        "  LEFT JOIN users u ON u.id = e.publisher_user_id"
        "  LEFT JOIN orgs o ON o.id = e.publisher_org_id"
        "  LEFT JOIN registry_extension_releases r ON r.id = e.latest_release_id AND r.deleted_at IS NULL"
        " WHERE coalesce(u.username, o.name) = wanted.publisher::citext"
        "   AND u.deleted_at IS NULL AND o.deleted_at IS NULL"
        " ORDER BY e.id",
        [publisher for publisher, _ in ids],
        [name for _, name in ids],
    )
    return [
        EnabledExtension(row["extension_id"], row["uuid"], row["release_id"], row["version"], row["released_at"])
        for row in rows
    ]
