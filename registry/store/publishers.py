"""Publishers: the users and organizations that own extensions, found by their shared name."""

from __future__ import annotations

import asyncpg

from registry.db import queries

_SQL = queries.load(__file__)


class Publisher(queries.FromRow):
    name: str
    user_id: int | None
    org_id: int | None

    @property
    def kind(self) -> str:
        return "user" if self.user_id is not None else "org"


async def publisher_by_name(conn: asyncpg.Connection, name: str) -> Publisher | None:
    """The live user or org holding `name` (case-insensitively) in the shared namespace."""
    return await _SQL.publisher_by_name.one(conn, Publisher, name=name)
