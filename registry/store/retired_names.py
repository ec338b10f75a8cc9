"""Retired names: publisher names that have been published under and were given up (a delete or a
rename). The database keeps them (migration 6): a retired name is refused to anyone but its former
owner until a site admin releases it; a renamed publisher's old name redirects to its current one.
Published coordinates (`publisher/name@version`) are recorded there too, and are never released."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset
from registry.domain.page import Column, CursorCodec, Page, PageRequest

_SQL = queries.load(__file__)


class RetiredName(FromRow):
    name: str
    former_owner: str | None  # the owner's current name, if it is live (then the name redirects there)
    owner_kind: str | None  # "user" | "org", while the former owner is known
    retired_at: datetime
    released_at: datetime | None


BY_NAME: Keyset[RetiredName] = Keyset(CursorCodec(Column.TEXT), ("after",), lambda row: [row.name])


async def redirect_target(conn: asyncpg.Connection, name: str) -> str | None:
    """The current name of the live publisher that gave up `name` by a rename (not released)."""
    target: str | None = await _SQL.redirect_target.fetchval(conn, name=name)
    return target


async def list_retired_names(conn: asyncpg.Connection, page: PageRequest) -> Page[RetiredName]:
    """Names still retired (not released), in name order."""
    return await _SQL.retired_names_by_name.page(conn, RetiredName, BY_NAME, page)


async def release_retired_name(conn: asyncpg.Connection, name: str, by_user_id: int) -> bool:
    """A site admin's release: the name may be taken again (its published versions stay taken)."""
    return await _SQL.release_retired_name.changed(conn, name=name, by_user_id=by_user_id) == 1
