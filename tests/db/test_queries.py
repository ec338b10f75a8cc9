"""Every named SQL statement is valid against the migrated schema, and every one is used.

PostgreSQL prepares each statement (parsing it, resolving every table, column, function and
parameter type) without running it, so a typo, a renamed column or a parameter whose type
PostgreSQL cannot infer fails here rather than on the first request that reaches it. A statement
that no code of its store names is dead and fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from registry.db.queries import Keyset, Queries, load, parse
from registry.domain.errors import BadRequest
from registry.domain.page import Column, CursorCodec, PageRequest

ROOT = Path(__file__).resolve().parents[2]
SQL_FILES = sorted(p for package in ("registry", "indexer") for p in (ROOT / package).rglob("*.sql"))


def _ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_stores_keep_their_sql_in_sql_files() -> None:
    assert SQL_FILES, "no .sql files found beside the stores"


@pytest.mark.parametrize("path", SQL_FILES, ids=_ids)
async def test_every_statement_prepares_against_the_migrated_schema(path: Path, db: asyncpg.Connection) -> None:
    """A store that stages rows in temporary tables names their creation `create_temporary_*`:
    those run first (in a transaction rolled back after), so the statements reading them prepare."""
    failures = []
    statements = list(load(str(path.with_suffix(".py"))))
    staging = db.transaction()
    await staging.start()
    try:
        for query in statements:
            if query.name.startswith("create_temporary_"):
                await db.execute(query.text)
        for query in statements:
            try:
                async with db.transaction():  # a savepoint: one failure leaves the others preparable
                    statement = await db.prepare(query.text)
            except asyncpg.PostgresError as exc:
                failures.append(f"{query.name}: {type(exc).__name__}: {exc}")
                continue
            assert len(statement.get_parameters()) == len(query.params), query.name
    finally:
        await staging.rollback()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", SQL_FILES, ids=_ids)
def test_every_statement_is_used_by_its_store(path: Path) -> None:
    module = path.with_suffix(".py")
    assert module.exists(), f"{_ids(path)} has no store module beside it"
    source = module.read_text(encoding="utf-8")
    unused = [q.name for q in load(str(module)) if not re.search(rf"\.{q.name}\b", source)]
    assert not unused, f"{_ids(path)}: statements no code in {module.name} uses: {unused}"


def test_named_parameters_become_positional_ones_once_each() -> None:
    (query,) = parse(
        "-- name: pick\n-- Takes :not_a_param in a comment.\n"
        "SELECT :a::text, ':b', \"c:d\", :a || :e FROM t WHERE x = :e",
        "t.sql",
    ).values()
    assert query.params == ("a", "e")
    assert query.text.endswith("SELECT $1::text, ':b', \"c:d\", $1 || $2 FROM t WHERE x = $2")
    assert query.args({"a": 1, "e": 2}) == [1, 2]
    with pytest.raises(TypeError, match="missing parameters \\['e'\\]"):
        query.args({"a": 1})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("SELECT 1", "text before the first"),
        ("-- name: a\nSELECT 1\n-- name: a\nSELECT 2", "defined twice"),
        ("-- name: a\n\n", "is empty"),
    ],
)
def test_a_malformed_sql_file_is_refused_at_import(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse(text, "bad.sql")


def test_a_missing_query_is_named_in_the_error() -> None:
    queries = Queries(Path("x.sql"), {})
    with pytest.raises(AttributeError, match=r"x\.sql has no query named nope"):
        queries.nope  # noqa: B018


def test_a_keyset_binds_its_first_values_then_the_cursors_key_and_one_row_more() -> None:
    keyset = Keyset(CursorCodec(Column.INT4, Column.INT8), ("after_repo", "after_id"), lambda row: row)
    assert keyset.bind(PageRequest(limit=10)) == {"after_repo": None, "after_id": None, "limit": 11}
    cursor = keyset.codec.encode([3, 7])
    assert keyset.bind(PageRequest(limit=10, cursor=cursor)) == {"after_repo": 3, "after_id": 7, "limit": 11}
    assert Keyset.by_id(Column.INT8).bind(PageRequest(limit=5)) == {"after_id": 0, "limit": 6}


def test_a_keyset_refuses_a_cursor_of_another_ordering() -> None:
    cursor = CursorCodec(Column.TEXT).encode(["name"])
    with pytest.raises(BadRequest):
        Keyset.by_id(Column.INT8).bind(PageRequest(cursor=cursor))
