"""The pool gives connections back without asyncpg's server-side reset (registry.db.pool): what that
relies on is that a connection handed back carries no session state for the next request to
inherit. Checked here after the writes and reads the API makes, after a migration run through the
pool, and for a transaction left open."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry import appkeys
from registry.config import Config
from registry.db.lifecycle import bring_up
from registry.db.migrate import load_migrations
from registry.db.pool import create_pool
from registry.resources import migrations_dir
from tests.support.factories import make_user
from tests.support.registry import publish

Client = TestClient[web.Request, web.Application]

_SESSION_STATE = """
-- What asyncpg's reset (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) would undo,
-- and what it would not (temporary tables, the transaction-local setting the triggers append to).
-- A setting counts when its value is not the one RESET restores: asyncpg's own type introspection
-- turns `jit` off and back to what it was, which leaves the same value with a "session" source.
SELECT (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory') AS advisory_locks,
       (SELECT count(*) FROM pg_listening_channels()) AS listening,
       (SELECT count(*) FROM pg_cursors WHERE name <> '') AS cursors,
       (SELECT count(*) FROM pg_settings WHERE source = 'session' AND setting IS DISTINCT FROM reset_val) AS settings,
       (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS temporary_relations,
       (SELECT coalesce(current_setting('wharf.invalidations', true), '')) AS announced
"""
_CLEAN = {"advisory_locks": 0, "listening": 0, "cursors": 0, "settings": 0, "temporary_relations": 0, "announced": ""}


async def _states_of_idle_connections(pool: asyncpg.Pool) -> list[dict[str, object]]:
    """The session state of every connection the pool holds (each acquired in turn, all at once so
    that none is handed out twice)."""
    held = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        return [dict(await conn.fetchrow(_SESSION_STATE)) for conn in held]
    finally:
        for conn in held:
            await pool.release(conn)


async def test_connections_given_back_after_api_writes_carry_no_session_state(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await publish(client, alice.headers, "alice/wc", "1.0.0", expect=200)  # an identical re-publish
    assert (await client.delete("/api/extensions/alice/wc/releases/1.0.0", headers=alice.headers)).status == 204
    token = await client.post("/api/tokens", json={"note": "n", "scopes": ["user:all"]}, headers=alice.headers)
    assert token.status == 201
    assert (await client.get("/api/extensions/alice/wc")).status == 200

    states = await _states_of_idle_connections(client.app[appkeys.DATABASE].pool)
    assert states and all(state == _CLEAN for state in states), states


async def test_a_migration_run_through_the_pool_leaves_its_lock_behind_on_no_connection(config: Config) -> None:
    pool = await create_pool(config.database_url or "", min_size=1, max_size=1)
    try:
        assert await bring_up(pool, load_migrations(migrations_dir()), migrate=True)
        assert await _states_of_idle_connections(pool) == [_CLEAN]
    finally:
        await pool.close()


async def test_a_transaction_left_open_is_rolled_back_when_its_connection_is_given_back(
    config: Config, db: asyncpg.Connection
) -> None:
    await db.execute("CREATE TABLE pool_probe (n int)")
    pool = await create_pool(config.database_url or "", min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("BEGIN; INSERT INTO pool_probe VALUES (1); SET LOCAL work_mem = '8MB'")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM pool_probe") == 0
        assert await _states_of_idle_connections(pool) == [_CLEAN]
    finally:
        await pool.close()


async def test_session_state_taken_outside_a_transaction_stays_with_the_connection(config: Config) -> None:
    """What the pool no longer undoes, so that no code may leave it (and the checks above see it)."""
    pool = await create_pool(config.database_url or "", min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(16), set_config('work_mem', '8MB', false)")
        [state] = await _states_of_idle_connections(pool)
        assert (state["advisory_locks"], state["settings"]) == (1, 1)
    finally:
        await pool.close()
