"""Access tokens: stored as sha256 digests, looked up through the `access_tokens_lookup` hash index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from registry.store.users import User, user_from_row


@dataclass(frozen=True)
class Token:
    id: int
    note: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    creator: str


@dataclass(frozen=True)
class TokenHolder:
    """What a token resolves to: its id and scopes, and its live user."""

    token_id: int
    scopes: frozenset[str]
    user: User


def _token(row: asyncpg.Record) -> Token:
    return Token(row["id"], row["note"], tuple(row["scopes"]), row["created_at"], row["last_used_at"], row["creator"])


async def insert_token(
    conn: asyncpg.Connection, *, subject_user_id: int, creator_user_id: int, digest: bytes, note: str, scopes: list[str]
) -> Token:
    row = await conn.fetchrow(
        "-- source: registry/store/tokens.py:insert_token\n"
        "WITH t AS (INSERT INTO access_tokens (subject_user_id, creator_user_id, value_sha256, note, scopes)"
        "           VALUES ($1, $2, $3, $4, $5) RETURNING *)"
        " SELECT t.*, u.username::text AS creator FROM t JOIN users u ON u.id = t.creator_user_id",
        subject_user_id,
        creator_user_id,
        digest,
        note,
        scopes,
    )
    return _token(row)


async def token_holder(conn: asyncpg.Connection, digest: bytes) -> TokenHolder | None:
    """Resolve a token digest to its live user in one statement, which also records the use.

    `last_used_at` is written at most once a minute per token: a busy CI token would otherwise
    turn every read into a write.
    """
    row = await conn.fetchrow(
        "-- source: registry/store/tokens.py:token_holder\n"
        "WITH hit AS ("
        "  SELECT id, subject_user_id, scopes, last_used_at FROM access_tokens"
        "   WHERE value_sha256 = $1 AND deleted_at IS NULL"
        "), used AS ("
        "  UPDATE access_tokens SET last_used_at = now()"
        "   WHERE id = (SELECT id FROM hit)"
        "     AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
        ")"
        " SELECT hit.id AS token_id, hit.scopes, u.id, u.username::text, u.display_name, u.avatar_url,"
        "        u.site_admin, u.created_at, u.updated_at"
        "   FROM hit JOIN users u ON u.id = hit.subject_user_id AND u.deleted_at IS NULL",
        digest,
    )
    if row is None:
        return None
    return TokenHolder(row["token_id"], frozenset(row["scopes"]), user_from_row(row))


async def list_tokens(conn: asyncpg.Connection, user_id: int, *, after_id: int | None, limit: int) -> list[Token]:
    rows = await conn.fetch(
        "-- source: registry/store/tokens.py:list_tokens\n"
        "SELECT t.*, u.username::text AS creator FROM access_tokens t JOIN users u ON u.id = t.creator_user_id"
        " WHERE t.subject_user_id = $1 AND t.deleted_at IS NULL AND t.id > $2 ORDER BY t.id LIMIT $3",
        user_id,
        after_id or 0,
        limit,
    )
    return [_token(row) for row in rows]


async def token_owner(conn: asyncpg.Connection, token_id: int) -> int | None:
    """The subject user of a live token."""
    owner: int | None = await conn.fetchval(
        "-- source: registry/store/tokens.py:token_owner\n"
        "SELECT subject_user_id FROM access_tokens WHERE id = $1 AND deleted_at IS NULL",
        token_id,
    )
    return owner


async def delete_token(conn: asyncpg.Connection, token_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/tokens.py:delete_token\n"
        "UPDATE access_tokens SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
        token_id,
    )
    return bool(status == "UPDATE 1")


async def delete_tokens_of(conn: asyncpg.Connection, user_id: int, *, keep: int | None = None) -> int:
    """Delete every live token of the user but `keep` (the one making a password change); how many."""
    status = await conn.execute(
        "-- source: registry/store/tokens.py:delete_tokens_of\n"
        "UPDATE access_tokens SET deleted_at = now()"
        " WHERE subject_user_id = $1 AND deleted_at IS NULL AND id IS DISTINCT FROM $2",
        user_id,
        keep,
    )
    return int(status.split()[-1])
