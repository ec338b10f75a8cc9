"""The failure throttle, whose windows live in PostgreSQL: exact under concurrency, shared by every
process that reaches the database, windowed on the database's clock and pruned.

Time is moved by shifting the stored stamps back, not by sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from registry.auth.throttle import FailureThrottle, FailureWindows
from registry.db.database import Database
from registry.db.pool import create_pool
from registry.domain.errors import TooManyRequests

GUESSES = FailureThrottle("guesses", 3, 60)


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_url, min_size=30, max_size=30)
    yield pool
    await pool.close()


@pytest.fixture
def windows(pool: asyncpg.Pool) -> FailureWindows:
    return FailureWindows(Database(pool))


async def _age(db: asyncpg.Connection, seconds: int) -> None:
    """Make every stored attempt `seconds` older (as if that much time had passed)."""
    await db.execute(
        "UPDATE failure_windows SET stamps = ARRAY(SELECT s - make_interval(secs => $1) FROM unnest(stamps) s),"
        " expires_at = expires_at - make_interval(secs => $1)",
        seconds,
    )


async def _refusal(windows: FailureWindows, *budgets: tuple[FailureThrottle, str]) -> TooManyRequests:
    with pytest.raises(TooManyRequests) as refused:
        await windows.attempt(*budgets)
    return refused.value


async def test_the_limit_applies_within_the_window_and_lifts_after_it(
    windows: FailureWindows, db: asyncpg.Connection
) -> None:
    for _ in range(3):
        await windows.attempt((GUESSES, "alice"))
    refused = await _refusal(windows, (GUESSES, "alice"))
    assert refused.detail == "Too many failed attempts; try again later."
    assert refused.retry_after in (59, 60), "a window from the oldest attempt (the database's clock runs meanwhile)"
    await windows.attempt((GUESSES, "bob"))
    await _age(db, 30)
    assert (await _refusal(windows, (GUESSES, "alice"))).retry_after in (29, 30)
    await _age(db, 31)
    await windows.attempt((GUESSES, "alice"))
    assert await db.fetchval("SELECT cardinality(stamps) FROM failure_windows WHERE key = 'alice'") == 1, (
        "stamps past the window are dropped as the row is written"
    )


async def test_concurrent_attempts_on_separate_connections_admit_exactly_the_limit(
    windows: FailureWindows, db: asyncpg.Connection
) -> None:
    burst = FailureThrottle("burst", 7, 60)
    outcomes = await asyncio.gather(*(windows.attempt((burst, "alice")) for _ in range(30)), return_exceptions=True)
    admitted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, TooManyRequests)]
    assert (len(admitted), len(refused)) == (7, 23)
    assert await db.fetchval("SELECT cardinality(stamps) FROM failure_windows WHERE key = 'alice'") == 7


async def test_two_processes_on_one_database_share_one_limit(pool: asyncpg.Pool, db_url: str) -> None:
    other_pool = await create_pool(db_url, min_size=1, max_size=2)
    try:
        here, there = FailureWindows(Database(pool)), FailureWindows(Database(other_pool))
        await here.attempt((GUESSES, "alice"))
        await there.attempt((GUESSES, "alice"))
        await here.attempt((GUESSES, "alice"))
        await _refusal(there, (GUESSES, "alice"))
    finally:
        await other_pool.close()


async def test_forgiving_takes_back_exactly_the_attempts_counted(windows: FailureWindows) -> None:
    await windows.attempt((GUESSES, "alice"))
    right = await windows.attempt((GUESSES, "alice"))
    await windows.forgive(right)
    await windows.forgive(right)  # twice is once: the other attempt stays counted
    await windows.attempt((GUESSES, "alice"))
    await windows.attempt((GUESSES, "alice"))
    await _refusal(windows, (GUESSES, "alice"))


async def test_an_attempt_on_several_budgets_counts_against_all_or_none(
    windows: FailureWindows, db: asyncpg.Connection
) -> None:
    tight = FailureThrottle("tight", 1, 60, message="Too many tight ones.")
    await windows.attempt((tight, "addr:1"))
    refused = await _refusal(windows, (GUESSES, "alice"), (tight, "addr:1"), (GUESSES, "bob"))
    assert refused.detail == "Too many tight ones.", "the refusing budget's message"
    assert await db.fetchval("SELECT sum(cardinality(stamps)) FROM failure_windows WHERE throttle = 'guesses'") == 0
    with pytest.raises(ValueError, match="different key"):
        await windows.attempt((GUESSES, "alice"), (GUESSES, "alice"))


async def test_a_scaled_throttle_keeps_its_own_windows(windows: FailureWindows) -> None:
    ceiling = GUESSES.scaled(2)
    assert (ceiling.limit, ceiling.window) == (6, 60)
    for _ in range(3):
        await windows.attempt((GUESSES, "alice"))
    for _ in range(6):
        await windows.attempt((ceiling, "alice"))
    await _refusal(windows, (ceiling, "alice"))


async def test_keys_whose_window_passed_are_deleted_by_later_attempts(
    windows: FailureWindows, db: asyncpg.Connection
) -> None:
    for n in range(10):
        await windows.attempt((GUESSES, f"addr:{n}"))
    await _age(db, 61)
    await windows.attempt((GUESSES, "fresh"), (GUESSES, "fresh too"))
    assert await db.fetchval("SELECT count(*) FROM failure_windows") == 10 - 4 + 2, "two per key charged"
    for n in range(3):
        await windows.attempt((GUESSES, f"later:{n}"))
    assert await db.fetchval("SELECT count(*) FROM failure_windows WHERE expires_at < clock_timestamp()") == 0


async def test_a_long_or_unprintable_key_is_stored_as_its_digest(
    windows: FailureWindows, db: asyncpg.Connection
) -> None:
    for key in ("user:" + "x" * 10_000, "user:nul\x00", "user:\ud800"):
        await windows.attempt((GUESSES, key))
        await windows.attempt((GUESSES, key))
    stored = await db.fetch("SELECT key, cardinality(stamps) AS n FROM failure_windows")
    assert [(row["key"][:7], len(row["key"]), row["n"]) for row in stored] == [("sha256:", 71, 2)] * 3
