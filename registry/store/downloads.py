"""Download counts: per release per day, written in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg


@dataclass(frozen=True)
class DailyDownloads:
    day: date
    count: int


async def add_downloads(conn: asyncpg.Connection, counts: Sequence[tuple[int, date, int]]) -> None:
    """Add a batch of (release id, day, count) in one statement, to the daily rows and to each
    extension's running total. Releases deleted meanwhile are skipped."""
    await conn.execute(
        "-- source: registry/store/downloads.py:add_downloads\n"
        "WITH batch AS ("
        "  SELECT b.release_id, b.day, b.n, r.registry_extension_id AS extension_id"
        "    FROM unnest($1::bigint[], $2::date[], $3::bigint[]) AS b(release_id, day, n)"
        "    JOIN registry_extension_releases r ON r.id = b.release_id"
        "), daily AS ("
        "  INSERT INTO registry_extension_downloads AS d (release_id, day, count)"
        "  SELECT release_id, day, n FROM batch"
        "  ON CONFLICT (release_id, day) DO UPDATE SET count = d.count + EXCLUDED.count"
        ")"
        " UPDATE registry_extensions e SET downloads = e.downloads + t.n"
        "   FROM (SELECT extension_id, sum(n) AS n FROM batch GROUP BY extension_id) t WHERE e.id = t.extension_id",
        [release_id for release_id, _, _ in counts],
        [day for _, day, _ in counts],
        [n for _, _, n in counts],
    )


async def daily_downloads(conn: asyncpg.Connection, extension_pk: int, since: date) -> list[DailyDownloads]:
    rows = await conn.fetch(
        "-- source: registry/store/downloads.py:daily_downloads\n"
        "SELECT d.day, sum(d.count)::bigint AS count FROM registry_extension_downloads d"
        " JOIN registry_extension_releases r ON r.id = d.release_id"
        " WHERE r.registry_extension_id = $1 AND d.day >= $2 GROUP BY d.day ORDER BY d.day",
        extension_pk,
        since,
    )
    return [DailyDownloads(row["day"], row["count"]) for row in rows]
