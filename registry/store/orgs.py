"""Organizations and their members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from registry.names import fold_name


@dataclass(frozen=True)
class Org:
    id: int
    name: str
    display_name: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Member:
    membership_id: int
    user_id: int
    username: str
    display_name: str | None
    joined_at: datetime


_ORG_COLUMNS = "o.id, o.name::text, o.display_name, o.created_at, o.updated_at"


def _org(row: asyncpg.Record) -> Org:
    return Org(row["id"], row["name"], row["display_name"], row["created_at"], row["updated_at"])


async def insert_org(conn: asyncpg.Connection, name: str, display_name: str | None) -> Org:
    row = await conn.fetchrow(
        "-- source: registry/store/orgs.py:insert_org\n"
        f"INSERT INTO orgs AS o (name, display_name) VALUES ($1, $2) RETURNING {_ORG_COLUMNS}",
        name,
        display_name,
    )
    return _org(row)


async def org_by_name(conn: asyncpg.Connection, name: str, *, lock: bool = False) -> Org | None:
    """A live org; with `lock`, its row is locked until the transaction ends (membership changes
    serialise on it, so an org can never lose its last member to two concurrent removals). The name
    is folded as registry.names folds it (a string that can be no name: None)."""
    folded = fold_name(name)
    if folded is None:
        return None
    row = await conn.fetchrow(
        f"-- source: registry/store/orgs.py:org_by_name\nSELECT {_ORG_COLUMNS} FROM orgs o"
        " WHERE o.name = $1 AND o.deleted_at IS NULL" + (" FOR UPDATE" if lock else ""),
        folded,
    )
    return _org(row) if row else None


async def org_by_id(conn: asyncpg.Connection, org_id: int) -> Org | None:
    """A live org by id (Sourcegraph's GraphQL names orgs by id)."""
    row = await conn.fetchrow(
        f"-- source: registry/store/orgs.py:org_by_id\nSELECT {_ORG_COLUMNS} FROM orgs o"
        " WHERE o.id = $1 AND o.deleted_at IS NULL",
        org_id,
    )
    return _org(row) if row else None


async def update_org_display_name(conn: asyncpg.Connection, org_id: int, display_name: str | None) -> Org | None:
    row = await conn.fetchrow(
        "-- source: registry/store/orgs.py:update_org_display_name\n"
        "UPDATE orgs AS o SET display_name = $2, updated_at = now()"
        f" WHERE o.id = $1 AND o.deleted_at IS NULL RETURNING {_ORG_COLUMNS}",
        org_id,
        display_name,
    )
    return _org(row) if row else None


async def soft_delete_org(conn: asyncpg.Connection, org_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/orgs.py:soft_delete_org\n"
        "UPDATE orgs SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        org_id,
    )
    return bool(status == "UPDATE 1")


async def insert_member(conn: asyncpg.Connection, org_id: int, user_id: int) -> None:
    await conn.execute(
        "-- source: registry/store/orgs.py:insert_member\nINSERT INTO org_members (org_id, user_id) VALUES ($1, $2)",
        org_id,
        user_id,
    )


async def is_member(conn: asyncpg.Connection, org_id: int, user_id: int) -> bool:
    found = await conn.fetchval(
        "-- source: registry/store/orgs.py:is_member\nSELECT 1 FROM org_members WHERE org_id = $1 AND user_id = $2",
        org_id,
        user_id,
    )
    return found is not None


async def list_members(conn: asyncpg.Connection, org_id: int, *, after_id: int | None, limit: int) -> list[Member]:
    rows = await conn.fetch(
        "-- source: registry/store/orgs.py:list_members\n"
        "SELECT m.id, m.user_id, u.username::text, u.display_name, m.created_at FROM org_members m"
        " JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL"
        " WHERE m.org_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3",
        org_id,
        after_id or 0,
        limit,
    )
    return [Member(r["id"], r["user_id"], r["username"], r["display_name"], r["created_at"]) for r in rows]


async def count_members(conn: asyncpg.Connection, org_id: int) -> int:
    count: int = await conn.fetchval(
        "-- source: registry/store/orgs.py:count_members\n"
        "SELECT count(*) FROM org_members m JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL"
        " WHERE m.org_id = $1",
        org_id,
    )
    return count


async def delete_member(conn: asyncpg.Connection, org_id: int, user_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/orgs.py:delete_member\nDELETE FROM org_members WHERE org_id = $1 AND user_id = $2",
        org_id,
        user_id,
    )
    return bool(status == "DELETE 1")
