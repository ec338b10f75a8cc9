"""Publishers: the users and organizations that own extensions, found by their shared name."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Publisher:
    name: str
    user_id: int | None
    org_id: int | None

    @property
    def kind(self) -> str:
        return "user" if self.user_id is not None else "org"


async def publisher_by_name(conn: asyncpg.Connection, name: str) -> Publisher | None:
    """The live user or org holding `name` (case-insensitively) in the shared namespace."""
    row = await conn.fetchrow(
        "-- source: registry/store/publishers.py:publisher_by_name\n"
        "SELECT coalesce(u.username, o.name)::text AS name, u.id AS user_id, o.id AS org_id FROM names n"
        " LEFT JOIN users u ON u.id = n.user_id AND u.deleted_at IS NULL"
        " LEFT JOIN orgs o ON o.id = n.org_id AND o.deleted_at IS NULL"
        " WHERE n.name = $1 AND (u.id IS NOT NULL OR o.id IS NOT NULL)",
        name,
    )
    return Publisher(row["name"], row["user_id"], row["org_id"]) if row else None
