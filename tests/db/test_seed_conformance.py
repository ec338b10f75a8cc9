"""Migration 1 reproduces the seed schema exactly; later migrations only add to it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import asyncpg
import pytest

from registry.db.migrate import load_migrations, migrate_up
from registry.resources import migrations_dir
from tests.support.catalog import compare, live_tables, sequence_problems
from tests.support.seed_description import SeedFormatError, Table, load_seed, parse_seed

SEED = Path(__file__).parent.parent / "fixtures" / "seed-schema.md"


@pytest.fixture(scope="module")
def seed() -> dict[str, Table]:
    return load_seed(SEED)


def _report(problems: list[str]) -> str:
    return f"{len(problems)} difference(s) from the seed schema:\n" + "\n".join(problems)


def test_seed_description_is_parsed_completely(seed: dict[str, Table]) -> None:
    assert len(seed) == 28
    assert {"org_members_bkup_1514536731", "settings_bkup_1514702776", "schema_migrations"} <= set(seed)
    users = seed["users"]
    assert [c.name for c in users.columns][:3] == ["id", "username", "display_name"]
    assert users.columns[0].default == "nextval('users_id_seq'::regclass)"
    assert users.indexes["users_username"] == "UNIQUE, btree (username) WHERE deleted_at IS NULL"
    assert seed["user_emails"].indexes["user_emails_unique_verified_email"].startswith("EXCLUDE USING btree")
    assert "discussion_threads_target_repo_id_fk" in seed["discussion_threads"].foreign_keys
    parts = ("indexes", "checks", "foreign_keys", "referenced_by")
    counts = [sum(len(getattr(t, part)) for t in seed.values()) for part in parts]
    assert counts == [58, 14, 31, 31]  # counted independently with awk over the document


def test_a_malformed_description_is_refused() -> None:
    with pytest.raises(SeedFormatError, match="modifiers not understood"):
        parse_seed(
            '# Table "public.t"\n```\n Column | Type | Modifiers\n---+---+---\n x | text | nullable maybe\n```\n'
        )


async def test_migration_1_matches_the_seed_exactly(empty_db_url: str, seed: dict[str, Table]) -> None:
    conn = await asyncpg.connect(empty_db_url)
    try:
        await migrate_up(conn, load_migrations(migrations_dir()), steps=1)
        problems = await compare(conn, seed, await live_tables(conn), allow_additions=False)
        problems += await sequence_problems(conn, seed)
    finally:
        await conn.close()
    assert not problems, _report(problems)


async def test_the_fully_migrated_schema_keeps_every_seed_object(
    db: asyncpg.Connection, seed: dict[str, Table]
) -> None:
    problems = await compare(db, seed, await live_tables(db), allow_additions=True)
    assert not problems, _report(problems)


async def test_a_difference_is_reported_readably(db: asyncpg.Connection, seed: dict[str, Table]) -> None:
    """The comparison can fail: a changed default, index, check and column order are all caught."""
    users = seed["users"]
    altered = dataclasses.replace(
        users,
        columns=[
            users.columns[1],
            users.columns[0],
            *users.columns[2:7],
            dataclasses.replace(users.columns[7], default="16"),
            *users.columns[8:],
        ],
        indexes={
            **users.indexes,
            "users_username": "UNIQUE, btree (username)",
            "users_extra": "btree (tags)",
        },
        checks={**users.checks, "users_display_name_max_length": "CHECK (char_length(display_name) <= 256)"},
    )
    problems = await compare(db, {"users": altered}, await live_tables(db), allow_additions=True)
    text = "\n".join(problems)
    assert (
        "users.invite_quota:\n    expected integer not null default 16\n    found    integer not null default 15"
        in text
    )
    assert "users: index users_username:\n    expected UNIQUE, btree (username)\n" in text
    assert "users: index users_extra: missing" in text
    assert "users: check users_display_name_max_length" in text
    assert "users: column order differs" in text
    assert len(problems) == 5
