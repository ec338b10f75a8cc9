"""Download counts: per release per day, written in batches; and which client's download of a
release last counted, so that every node applies one window (migration 9)."""

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


async def first_downloads(
    conn: asyncpg.Connection, pairs: Sequence[tuple[int, str]], window_seconds: float
) -> list[tuple[int, str]]:
    """Of distinct (release id, client) pairs, those that count now: none of the client's downloads
    of the release counted, on any node, within the window. Their time becomes now."""
    rows = await _SQL.first_downloads.fetch(
        conn,
        release_ids=[release_id for release_id, _ in pairs],
        clients=[client for _, client in pairs],
        window_seconds=window_seconds,
    )
    return [(row["release_id"], row["client"]) for row in rows]


async def prune_download_clients(conn: asyncpg.Connection, window_seconds: float, max_pairs: int) -> int:
    """Forget at most `max_pairs` pairs whose window has passed; how many were forgotten."""
    return await _SQL.prune_download_clients.changed(conn, window_seconds=window_seconds, max_pairs=max_pairs)


async def daily_downloads(conn: asyncpg.Connection, extension_pk: int, since: date) -> list[DailyDownloads]:
    return await _SQL.daily_downloads.all(conn, DailyDownloads, extension_pk=extension_pk, since=since)
