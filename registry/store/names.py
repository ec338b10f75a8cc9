"""Retired names: publisher names that have been published under and were given up (a delete or a
rename). The database keeps them (migration 6): a retired name is refused to anyone but its former
owner until a site admin releases it; a renamed publisher's old name redirects to its current one.
Published coordinates (`publisher/name@version`) are recorded there too, and are never released."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class RetiredName:
    name: str
    former_owner: str | None  # the owner's current name, if it is live (then the name redirects there)
    owner_kind: str | None  # "user" | "org", while the former owner is known
    retired_at: datetime
    released_at: datetime | None


_SELECT = (
    "SELECT r.name::text, coalesce(u.username, o.name)::text AS former_owner,"
    "       CASE WHEN r.user_id IS NOT NULL THEN 'user' WHEN r.org_id IS NOT NULL THEN 'org' END AS owner_kind,"
    "       r.retired_at, r.released_at"
    "  FROM retired_names r"
    "  LEFT JOIN users u ON u.id = r.user_id AND u.deleted_at IS NULL"
    "  LEFT JOIN orgs o ON o.id = r.org_id AND o.deleted_at IS NULL"
)


def _retired(row: asyncpg.Record) -> RetiredName:
    return RetiredName(row["name"], row["former_owner"], row["owner_kind"], row["retired_at"], row["released_at"])


async def redirect_target(conn: asyncpg.Connection, name: str) -> str | None:
    """The current name of the live publisher that gave up `name` by a rename (not released)."""
    row = await conn.fetchrow(
        f"-- source: registry/store/names.py:redirect_target\n{_SELECT}"
        " WHERE r.name = $1::citext AND r.released_at IS NULL AND (u.id IS NOT NULL OR o.id IS NOT NULL)",
        name,
    )
    return _retired(row).former_owner if row else None


async def list_retired_names(conn: asyncpg.Connection, *, after: str | None, limit: int) -> list[RetiredName]:
    """Names still retired (not released), in name order."""
    rows = await conn.fetch(
        f"-- source: registry/store/names.py:list_retired_names\n{_SELECT}"
        " WHERE r.released_at IS NULL AND ($1::text IS NULL OR lower(r.name::text) > lower($1::text))"
        " ORDER BY lower(r.name::text) LIMIT $2",
        after,
        limit,
    )
    return [_retired(row) for row in rows]


async def release_retired_name(conn: asyncpg.Connection, name: str, by_user_id: int) -> bool:
    """A site admin's release: the name may be taken again (its published versions stay taken)."""
    status = await conn.execute(
        "-- source: registry/store/names.py:release_retired_name\n"
        "UPDATE retired_names SET released_at = now(), released_by_user_id = $2"
        " WHERE name = $1::citext AND released_at IS NULL",
        name,
        by_user_id,
    )
    return bool(status == "UPDATE 1")
