"""`indexer status` reads the index through the same database plumbing as the registry."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import asyncpg
import orjson

from registry.config import Config
from testkit.processes import command_env, run_cli
from tests.conftest import AppFactory
from tests.indexer.test_resolved_indexing import monorepo


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
        await conn.execute(
            "INSERT INTO resolved_dep (repo_id, language, package, version, depth, dev, optional, lockfile)"
            " VALUES ($1, 'npm', 'lodash', '4.17.21', 1, false, false, 'package-lock.json')",
            repo_id,
        )
    finally:
        await conn.close()

    result = run_cli("indexer", "status", "--json", env=command_env(fresh_db_url))
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout) == {
        "repos": 2,
        "indexed_repos": 1,
        "languages": [
            {"language": "go", "packages": 0, "dependencies": 1, "resolved": 0},
            {"language": "npm", "packages": 1, "dependencies": 2, "resolved": 1},
        ],
    }
    table = run_cli("indexer", "status", env=command_env(fresh_db_url)).stdout
    assert table.splitlines()[0] == "repositories: 2 (1 indexed)"


def test_status_on_an_unreachable_database_is_a_one_line_error() -> None:
    result = run_cli("indexer", "status", env=command_env("postgresql://postgres@127.0.0.1:1/nothing"))
    assert result.returncode == 1
    assert result.stderr.startswith("indexer: error:")
    assert "Traceback" not in result.stderr


CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def _sample_repositories(root: Path) -> Path:
    """Every corpus project as its own repository directory under `root`."""
    for ecosystem in sorted(CORPUS.iterdir()):
        if ecosystem.is_dir():
            for project in sorted(ecosystem.iterdir()):
                shutil.copytree(project, root / project.name)
    return root


async def test_index_all_round_trips_to_the_dependents_api(
    fresh_db_url: str, tmp_path: Path, make_client: AppFactory
) -> None:
    root = _sample_repositories(tmp_path / "repos")
    result = run_cli("indexer", "index-all", str(root), "--uri-prefix", "github.com/", env=command_env(fresh_db_url))
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip()
    assert summary.startswith("repos: 14, packages: ")
    assert summary.endswith("skipped files: 0, failures: 0")

    client = await make_client(Config(database_url=fresh_db_url, access_log=False))
    testify = await (await client.get("/api/dependents?language=go&package=github.com/stretchr/testify")).json()
    assert {item["repo"] for item in testify["items"]} == {"github.com/etcd-io__etcd", "github.com/gin-gonic__gin"}
    net = await (await client.get("/api/dependents?language=go&package=golang.org/x/net&version=v0.56.5")).json()
    assert [(i["repo"], i["range"], i["dep_type"]) for i in net["items"]] == [
        ("github.com/gin-gonic__gin", "v0.56.0", "require")
    ], "etcd needs v0.57.0 at least"
    defined = await (await client.get("/api/packages?language=npm&name=vite")).json()
    assert [(i["repo"], i["path"]) for i in defined["items"]] == [
        ("github.com/vitejs__vite", "packages/vite/package.json")
    ]
    black = await (await client.get("/api/repos/github.com/psf__black/dependencies?limit=1000")).json()
    assert any(item["package"] == "click" and item["language"] == "python" for item in black["items"])

    again = run_cli(
        "indexer",
        "index",
        str(root / "gin-gonic__gin"),
        "--repo",
        "github.com/gin-gonic__gin",
        env=command_env(fresh_db_url),
    )
    assert again.returncode == 0
    assert again.stdout.startswith("github.com/gin-gonic__gin: indexed;")


async def test_a_git_revision_already_indexed_is_not_indexed_again(fresh_db_url: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS / "go" / "gin-gonic__gin", repo)
    env = {
        **command_env(fresh_db_url),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "one"]):
        subprocess.run(["git", "-C", str(repo), *args], env=env, check=True)
    first = run_cli(
        "indexer", "index", str(repo), "--repo", "example.com/gin", "--revision", "HEAD", env=command_env(fresh_db_url)
    )
    second = run_cli(
        "indexer", "index", str(repo), "--repo", "example.com/gin", "--revision", "HEAD", env=command_env(fresh_db_url)
    )
    assert "indexed;" in first.stdout
    assert "unchanged (revision already indexed)" in second.stdout


def test_an_unreadable_repository_is_a_one_line_error(fresh_db_url: str, tmp_path: Path) -> None:
    result = run_cli("indexer", "index", str(tmp_path / "nope"), "--repo", "x", env=command_env(fresh_db_url))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"indexer: error: {tmp_path / 'nope'} is not a directory"
    assert "Traceback" not in result.stderr


def test_index_counts_resolved_rows_and_status_shows_them_per_language(fresh_db_url: str, tmp_path: Path) -> None:
    root = monorepo(tmp_path / "repo")
    result = run_cli("indexer", "index", str(root), "--repo", "example.com/mono", env=command_env(fresh_db_url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("dependencies, 393 resolved")
    status = orjson.loads(run_cli("indexer", "status", "--json", env=command_env(fresh_db_url)).stdout)
    assert {c["language"]: c["resolved"] for c in status["languages"]} == {"npm": 292, "python": 49, "rust": 52}
