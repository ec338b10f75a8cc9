"""The test harness's own promise: every test starts from an empty, migrated database."""

from __future__ import annotations

import uuid

import asyncpg

from testkit.databases import Resetter


async def test_reset_empties_filled_tables_and_rewinds_their_sequences(fresh_db_url: str) -> None:
    resetter = await Resetter.for_database(fresh_db_url)
    conn = await asyncpg.connect(fresh_db_url)
    try:
        user = await conn.fetchval("INSERT INTO users (username) VALUES ('a') RETURNING id")
        await conn.execute("INSERT INTO names (name, user_id) VALUES ('a', $1)", user)
        await conn.execute(
            "INSERT INTO access_tokens (subject_user_id, creator_user_id, value_sha256, note, scopes)"
            " VALUES ($1, $1, '\\x00', 'n', '{}')",
            user,
        )
        await resetter.reset(conn)
        for table in ("users", "names", "access_tokens"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
        assert await conn.fetchval("INSERT INTO users (username) VALUES ('b') RETURNING id") == 1
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 1, "bookkeeping is kept"
    finally:
        await conn.close()


async def test_reset_falls_back_to_truncate_without_superuser_rights(fresh_db_url: str) -> None:
    resetter = await Resetter.for_database(fresh_db_url)
    conn = await asyncpg.connect(fresh_db_url)
    role = f"wharf_plain_{uuid.uuid4().hex[:8]}"
    owner = await conn.fetchval("SELECT quote_ident(current_user)")
    try:
        await conn.execute("INSERT INTO users (username) VALUES ('a')")
        # A member of the owning role owns the tables in effect, but is no superuser.
        await conn.execute(f"CREATE ROLE {role}; GRANT {owner} TO {role}; SET ROLE {role}")
        await resetter.reset(conn)
        assert not resetter.fast
        assert await conn.fetchval("SELECT count(*) FROM users") == 0
    finally:
        await conn.execute(f"RESET ROLE; DROP ROLE IF EXISTS {role}")
        await conn.close()
