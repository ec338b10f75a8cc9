"""Download counts: per release per day, written in batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from registry.db import queries

_SQL = queries.load(__file__)


class DailyDownloads(queries.FromRow):
    day: date
    count: int


async def add_downloads(conn: asyncpg.Connection, counts: Sequence[tuple[int, date, int]]) -> None:
    """Add a batch of (release id, day, count) in one statement, to the daily rows and to each
    extension's running total. Releases deleted meanwhile are skipped."""
    await _SQL.add_downloads.execute(
        conn,
        release_ids=[release_id for release_id, _, _ in counts],
        days=[day for _, day, _ in counts],
        counts=[n for _, _, n in counts],
    )


async def daily_downloads(conn: asyncpg.Connection, extension_pk: int, since: date) -> list[DailyDownloads]:
    return await _SQL.daily_downloads.all(conn, DailyDownloads, extension_pk=extension_pk, since=since)
