"""Failure windows: the recent stamps of each throttled key, shared by every node (migration 9).

The rules (which keys, which limits, what a refusal says) are registry.auth.throttle's; this
module only runs its two statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from registry.db import queries
from registry.domain.record import Record

_SQL = queries.load(__file__)


class Charge(Record):
    """One attempt to count against `key` of the throttle named `throttle`."""

    throttle: str
    key: str
    max_count: int
    seconds: float


class Outcome(queries.FromRow):
    """What counting one charge did: its stamp (for forgiving it) when counted, else the seconds
    until its key's oldest stamp leaves the window."""

    position: int
    stamp: datetime | None
    retry_after: int | None


async def count_attempts(conn: asyncpg.Connection, charges: Sequence[Charge]) -> list[Outcome]:
    """Count each charge that its key's window has room for, in one statement; one outcome per
    charge, in their order. The charges must name distinct keys."""
    return await _SQL.count_attempts.all(
        conn,
        Outcome,
        throttles=[c.throttle for c in charges],
        keys=[c.key for c in charges],
        max_counts=[c.max_count for c in charges],
        seconds=[c.seconds for c in charges],
    )


async def forgive_attempts(conn: asyncpg.Connection, stamped: Sequence[tuple[str, str, datetime]]) -> None:
    """Take back counted attempts, given as (throttle, key, stamp)."""
    await _SQL.forgive_attempts.execute(
        conn,
        throttles=[throttle for throttle, _, _ in stamped],
        keys=[key for _, key, _ in stamped],
        stamps=[stamp for _, _, stamp in stamped],
    )
