"""Retired names: publisher names that have been published under and were given up (a delete or a
rename). The database keeps them (migration 6): a retired name is refused to anyone but its former
owner until a site admin releases it; a renamed publisher's old name redirects to its current one.
Published coordinates (`publisher/name@version`) are recorded there too, and are never released."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow
from registry.domain.page import Column, CursorCodec, Page, PageRequest

_SQL = queries.load(__file__)
BY_NAME = CursorCodec(Column.TEXT)


@dataclass(frozen=True)
class RetiredName(FromRow):
    name: str
    former_owner: str | None  # the owner's current name, if it is live (then the name redirects there)
    owner_kind: str | None  # "user" | "org", while the former owner is known
    retired_at: datetime
    released_at: datetime | None


async def redirect_target(conn: asyncpg.Connection, name: str) -> str | None:
    """The current name of the live publisher that gave up `name` by a rename (not released)."""
    target: str | None = await _SQL.redirect_target.fetchval(conn, name=name)
    return target


async def list_retired_names(conn: asyncpg.Connection, page: PageRequest) -> Page[RetiredName]:
    """Names still retired (not released), in name order."""
    after = BY_NAME.after(page)
    rows = await _SQL.retired_names_by_name.all(
        conn, RetiredName, after=None if after is None else after[0], limit=page.limit + 1
    )
    return BY_NAME.page(rows, page, lambda row: [row.name])


async def release_retired_name(conn: asyncpg.Connection, name: str, by_user_id: int) -> bool:
    """A site admin's release: the name may be taken again (its published versions stay taken)."""
    status = await _SQL.release_retired_name.execute(conn, name=name, by_user_id=by_user_id)
    return status == "UPDATE 1"
