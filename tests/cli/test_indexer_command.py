"""`indexer status` reads the index through the same database plumbing as the registry."""

from __future__ import annotations

import asyncpg
import orjson

from tests.support.processes import command_env, run_cli


async def test_status_counts_repositories_and_rows_per_language(fresh_db_url: str) -> None:
    conn = await asyncpg.connect(fresh_db_url)
    try:
        repo_id = await conn.fetchval(
            "INSERT INTO repo (uri, indexed_revision) VALUES ('github.com/a/b', 'abc') RETURNING id"
        )
        await conn.execute("INSERT INTO repo (uri) VALUES ('github.com/a/c')")
        await conn.execute("INSERT INTO pkgs (repo_id, language, pkg) VALUES ($1, 'npm', $2)", repo_id, '{"name": "b"}')
        await conn.executemany(
            "INSERT INTO global_dep (repo_id, language, dep_data) VALUES ($1, $2, $3)",
            [(repo_id, "npm", '{"package": "lodash"}'), (repo_id, "npm", '{"package": "x"}'), (repo_id, "go", "{}")],
        )
    finally:
        await conn.close()

    result = run_cli("indexer", "status", "--json", env=command_env(fresh_db_url))
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == {
        "repos": 2,
        "indexed_repos": 1,
        "languages": [
            {"language": "go", "packages": 0, "dependencies": 1},
            {"language": "npm", "packages": 1, "dependencies": 2},
        ],
    }
    table = run_cli("indexer", "status", env=command_env(fresh_db_url)).stdout
    assert table.splitlines()[0] == "repositories: 2 (1 indexed)"


def test_status_on_an_unreachable_database_is_a_one_line_error() -> None:
    result = run_cli("indexer", "status", env=command_env("postgresql://postgres@127.0.0.1:1/nothing"))
    assert result.returncode == 1
    assert result.stderr.startswith("indexer: error:")
    assert "Traceback" not in result.stderr
