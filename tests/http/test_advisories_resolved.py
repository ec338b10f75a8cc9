"""Advisories on resolved versions: a lockfile's version decides for its language — listed with the
path through which the repository runs it and the first fixed version — and only repositories
without a lockfile of that language are judged by the ranges their manifests declare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from indexer.advisories import import_advisories
from registry.ecosystems.base import ResolvedDependency
from tests.support.index import index_repo, scan_of

Client = TestClient[web.Request, web.Application]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "osv"
LODASH = "GHSA-p6mc-m468-83gw"  # lodash: introduced 3.7.0, fixed 4.17.19 (SEMVER)


def locked(package: str, version: str, *via: str, lockfile: str = "package-lock.json") -> ResolvedDependency:
    depth = len(via) + 1
    return ResolvedDependency(package, version, depth == 1, depth, via[-1:], False, False, lockfile, via=via)


async def index(
    db: asyncpg.Connection,
    uri: str,
    declared: list[tuple[str, str, str]],
    resolved: list[tuple[str, ResolvedDependency]],
) -> None:
    scan = scan_of(declared)
    scan.resolved = resolved
    await index_repo(db, uri, scan, "rev1")


async def _get(client: Client, url: str) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


@pytest.fixture
async def world(db: asyncpg.Connection) -> asyncpg.Connection:
    await index(
        db,
        "example.com/app",  # runs an affected lodash two levels down
        [("npm", "webpack", "^4.0.0")],
        [
            ("npm", locked("webpack", "4.46.0")),
            ("npm", locked("terser", "4.8.0", "webpack@4.46.0")),
            ("npm", locked("lodash", "4.17.15", "webpack@4.46.0", "terser@4.8.0")),
        ],
    )
    await index(db, "example.com/manifest", [("npm", "lodash", "^4.17.0")], [])  # no lockfile: its range decides
    await index(
        db,
        "example.com/pinned",  # declares a range admitting 4.17.0, but its lockfile runs the fix
        [("npm", "lodash", "^4.17.0")],
        [("npm", locked("lodash", "4.17.21"))],
    )
    await index(
        db,
        "example.com/unlocked-here",  # has an npm lockfile without lodash: the lockfile is what runs
        [("npm", "lodash", "^4.17.0")],
        [("npm", locked("left-pad", "1.3.0"))],
    )
    await index(
        db,
        "example.com/polyglot",  # a Python lockfile says nothing about its npm dependencies
        [("npm", "lodash", "~4.17.10")],
        [("python", locked("requests", "2.31.0", lockfile="poetry.lock"))],
    )
    await import_advisories(db, FIXTURES)
    return db


RESOLVED_APP = {
    "repo": "example.com/app",
    "language": "npm",
    "package": "lodash",
    "range": None,
    "version": "4.17.15",
    "dep_type": None,
    "path": "package-lock.json",
    "depth": 3,
    "dependency_path": ["webpack@4.46.0", "terser@4.8.0", "lodash@4.17.15"],
    "match": "resolved",
    "witness": "4.17.15",
    "first_fixed": "4.17.19",
}


async def test_a_transitive_resolved_version_is_listed_with_its_path_and_first_fix(
    client: Client, world: asyncpg.Connection
) -> None:
    body = await _get(client, f"/api/advisories/{LODASH}/affected")
    rows = {item["repo"]: item for item in body["items"]}
    assert rows["example.com/app"] | {"repo_id": 0} == {**RESOLVED_APP, "repo_id": 0}


async def test_only_repositories_without_a_lockfile_of_the_language_are_judged_by_their_ranges(
    client: Client, world: asyncpg.Connection
) -> None:
    body = await _get(client, f"/api/advisories/{LODASH}/affected")
    matches = {item["repo"]: (item["match"], item["range"], item["witness"]) for item in body["items"]}
    assert matches == {
        "example.com/app": ("resolved", None, "4.17.15"),
        "example.com/manifest": ("declared", "^4.17.0", "4.17.0"),
        "example.com/polyglot": ("declared", "~4.17.10", "4.17.10"),
    }, "pinned runs 4.17.21 and unlocked-here's npm lockfile has no lodash: neither is listed"


async def test_affected_pages_hold_resolved_and_declared_rows_without_repeats(
    client: Client, world: asyncpg.Connection
) -> None:
    for n in range(3):
        await index(world, f"example.com/lock{n}", [], [("npm", locked("lodash", f"4.17.1{n}", "a@1.0.0"))])
    seen: list[tuple[str, str]] = []
    url = f"/api/advisories/{LODASH}/affected?limit=2"
    while url:
        body = await _get(client, url)
        seen += [(item["repo"], item["match"]) for item in body["items"]]
        url = f"/api/advisories/{LODASH}/affected?limit=2&cursor={body['next_cursor']}" if body["next_cursor"] else ""
    assert len(seen) == len(set(seen)) == 6
    assert sorted(match for _, match in seen) == [
        "declared",
        "declared",
        "resolved",
        "resolved",
        "resolved",
        "resolved",
    ]


async def test_a_repositorys_advisories_judge_its_lockfile_first(client: Client, world: asyncpg.Connection) -> None:
    app = await _get(client, "/api/repos/example.com/app/advisories")
    [item] = app["items"]
    assert item["advisory"] == LODASH
    assert {k: item[k] for k in RESOLVED_APP if k != "repo"} == {k: v for k, v in RESOLVED_APP.items() if k != "repo"}
    for uri in ("example.com/pinned", "example.com/unlocked-here"):
        assert (await _get(client, f"/api/repos/{uri}/advisories"))["items"] == []
    [declared] = (await _get(client, "/api/repos/example.com/manifest/advisories"))["items"]
    assert (declared["match"], declared["path"], declared["dependency_path"]) == ("declared", "package.json", None)


async def test_the_advisory_page_shows_how_each_repository_matched(client: Client, world: asyncpg.Connection) -> None:
    response = await client.get(f"/advisories/{LODASH}", headers={"Accept": "text/html"})
    assert response.status == 200
    html = await response.text()
    assert "runs <code>4.17.15</code>" in html
    assert "webpack@4.46.0 → terser@4.8.0 → lodash@4.17.15" in html
    assert "admits <code>4.17.0</code>" in html
