"""Access tokens: stored as sha256 digests, looked up through the `access_tokens_lookup` hash index."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Self

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset
from registry.domain.page import Column, Page, PageRequest
from registry.domain.record import Record
from registry.store.users import User

_SQL = queries.load(__file__)


class Token(FromRow):
    id: int
    note: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    creator: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        return cls(**{**row, "scopes": tuple(row["scopes"])})


_BY_ID = Keyset.by_id(Column.INT8)


class TokenRef(FromRow):
    """A live token and the user it acts as: what deciding who may delete it needs."""

    id: int
    owner_id: int


class TokenHolder(Record):
    """What a token resolves to: its id and scopes, and its live user."""

    token_id: int
    scopes: frozenset[str]
    user: User


async def insert_token(
    conn: asyncpg.Connection, *, subject_user_id: int, creator_user_id: int, digest: bytes, note: str, scopes: list[str]
) -> Token:
    return await _SQL.insert_token.single(
        conn,
        Token,
        subject_user_id=subject_user_id,
        creator_user_id=creator_user_id,
        digest=digest,
        note=note,
        scopes=scopes,
    )


async def token_holder(conn: asyncpg.Connection, digest: bytes) -> TokenHolder | None:
    """Resolve a token digest to its live user in one statement, which also records the use."""
    row = await _SQL.token_holder.fetchrow(conn, digest=digest)
    if row is None:
        return None
    return TokenHolder(row["token_id"], frozenset(row["scopes"]), User.within(row))


async def list_tokens(conn: asyncpg.Connection, user_id: int, page: PageRequest) -> Page[Token]:
    return await _SQL.list_tokens.page(conn, Token, _BY_ID, page, user_id=user_id)


async def token_ref(conn: asyncpg.Connection, token_id: int) -> TokenRef | None:
    return await _SQL.token_ref.one(conn, TokenRef, token_id=token_id)


async def delete_token(conn: asyncpg.Connection, token_id: int) -> bool:
    return await _SQL.delete_token.changed(conn, token_id=token_id) == 1


async def delete_tokens_of(conn: asyncpg.Connection, user_id: int, *, keep: int | None = None) -> int:
    """Delete every live token of the user but `keep` (the one making a password change); how many."""
    return await _SQL.delete_tokens_of.changed(conn, user_id=user_id, keep=keep)
