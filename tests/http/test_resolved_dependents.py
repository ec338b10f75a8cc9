"""`/api/dependents?resolved=true`: who runs a package at a version its lockfiles resolved,
directly or through something else, and through what — written by the real indexer's writer."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

from registry.ecosystems.base import ResolvedDependency
from tests.support.eventually import eventually
from tests.support.index import index_repo, scan_of

Client = TestClient[web.Request, web.Application]


def locked(
    package: str,
    version: str,
    *,
    via: tuple[str, ...] = (),
    dev: bool = False,
    lockfile: str = "package-lock.json",
    depth: int | None = None,
) -> ResolvedDependency:
    """A lockfile row: direct without `via`, else at the depth its path says."""
    found_depth = len(via) + 1 if depth is None else depth
    parents = via[-1:] if via else ()
    return ResolvedDependency(package, version, found_depth == 1, found_depth, parents, dev, False, lockfile, via=via)


async def index_locked(
    db: asyncpg.Connection, uri: str, language: str, *rows: ResolvedDependency, revision: str = "rev1"
) -> None:
    scan = scan_of()
    scan.resolved = [(language, row) for row in rows]
    await index_repo(db, uri, scan, revision)


async def _get(client: Client, url: str, status: int = 200) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status == status, await response.text()
    if status >= 400:
        assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    return body


@pytest.fixture
async def world(db: asyncpg.Connection) -> asyncpg.Connection:
    """qs run directly, through express, and through express and body-parser; in several versions."""
    await index_locked(db, "example.com/api", "npm", locked("qs", "6.11.0"))
    await index_locked(
        db,
        "example.com/web",
        "npm",
        locked("express", "4.18.2"),
        locked("qs", "6.11.0", via=("express@4.18.2",)),
        locked("qs", "6.5.3", via=("express@4.18.2", "body-parser@1.20.1"), lockfile="legacy/package-lock.json"),
    )
    await index_locked(
        db, "example.com/tools", "npm", locked("qs", "6.5.3", via=("request@2.88.2",), dev=True), locked("qs", "1.2.9")
    )
    await index_locked(db, "example.com/old", "npm", locked("qs", "1.4.0", depth=0))
    return db


async def test_every_repository_running_a_package_with_one_shortest_path_each(
    client: Client, world: asyncpg.Connection
) -> None:
    body = await _get(client, "/api/dependents?language=npm&package=qs&resolved=true")
    rows = [
        (i["repo"], i["version"], i["depth"], i["direct"], i["dev"], i["lockfile"], i["path"]) for i in body["items"]
    ]
    assert rows == [
        ("example.com/api", "6.11.0", 1, True, False, "package-lock.json", ["qs@6.11.0"]),
        ("example.com/web", "6.11.0", 2, False, False, "package-lock.json", ["express@4.18.2", "qs@6.11.0"]),
        (
            "example.com/web",
            "6.5.3",
            3,
            False,
            False,
            "legacy/package-lock.json",
            ["express@4.18.2", "body-parser@1.20.1", "qs@6.5.3"],
        ),
        ("example.com/tools", "1.2.9", 1, True, False, "package-lock.json", ["qs@1.2.9"]),
        ("example.com/tools", "6.5.3", 2, False, True, "package-lock.json", ["request@2.88.2", "qs@6.5.3"]),
        ("example.com/old", "1.4.0", 0, False, False, "package-lock.json", None),
    ]
    assert (body["resolved"], body["repos"], body["total"], body["next_cursor"]) == (True, 4, 6, None)


async def test_an_exact_version_keeps_only_its_rows(client: Client, world: asyncpg.Connection) -> None:
    body = await _get(client, "/api/dependents?language=npm&package=qs&resolved=true&version=6.5.3")
    assert [(i["repo"], i["version"]) for i in body["items"]] == [
        ("example.com/web", "6.5.3"),
        ("example.com/tools", "6.5.3"),
    ]
    assert (body["version"], body["repos"], body["total"]) == ("6.5.3", 2, 2)


async def test_direct_and_dev_filter_the_rows(client: Client, world: asyncpg.Connection) -> None:
    direct = await _get(client, "/api/dependents?language=npm&package=qs&resolved=true&direct=true")
    assert [(i["repo"], i["version"]) for i in direct["items"]] == [
        ("example.com/api", "6.11.0"),
        ("example.com/tools", "1.2.9"),
    ]
    transitive = await _get(client, "/api/dependents?language=npm&package=qs&resolved=true&direct=false&dev=false")
    assert [(i["repo"], i["version"]) for i in transitive["items"]] == [
        ("example.com/web", "6.11.0"),
        ("example.com/web", "6.5.3"),
        ("example.com/old", "1.4.0"),
    ]
    assert (transitive["repos"], transitive["total"]) == (2, 3)


@pytest.mark.parametrize(
    ("language", "package", "versions", "asked", "kept"),
    [
        ("npm", "lodash", ["1.1.0", "1.2.0", "1.9.3", "2.0.0"], "^1.2", ["1.2.0", "1.9.3"]),
        ("npm", "lodash", ["1.1.0", "1.2.0", "1.9.3", "2.0.0"], "1.9.3", ["1.9.3"]),
        ("python", "requests", ["1.9", "2.0", "2.31.0", "3.0.0"], ">=2,<3", ["2.0", "2.31.0"]),
        ("python", "requests", ["1.9", "2.0", "2.31.0", "3.0.0"], "2.0.0", ["2.0"]),
        ("java", "org.slf4j:slf4j-api", ["0.9", "1.0", "1.7.36", "2.0.9"], "[1.0,2.0)", ["1.0", "1.7.36"]),
        ("rust", "serde", ["1.0.100", "1.0.190", "2.0.0"], "1.0.190", ["1.0.190"]),
    ],
)
async def test_a_version_or_a_range_in_the_ecosystems_own_syntax(
    client: Client,
    db: asyncpg.Connection,
    language: str,
    package: str,
    versions: list[str],
    asked: str,
    kept: list[str],
) -> None:
    for n, version in enumerate(versions):
        await index_locked(db, f"example.com/r{n}", language, locked(package, version, lockfile="lock"))
    url = f"/api/dependents?language={language}&package={package}&resolved=true&version={asked}"
    body = await _get(client, url.replace("+", "%2B").replace("^", "%5E"))
    assert [item["version"] for item in body["items"]] == kept
    summary = await _get(client, url.replace("/api/dependents", "/api/dependents/summary").replace("^", "%5E"))
    assert sorted(v["version"] for v in summary["versions"] if v["matches"]) == sorted(kept)


async def test_pages_are_complete_and_never_repeat(client: Client, db: asyncpg.Connection) -> None:
    for n in range(7):
        await index_locked(
            db, f"example.com/p{n}", "npm", locked("ms", f"2.{n % 3}.0"), locked("ms", "2.1.3", via=("debug@4.3.4",))
        )
    seen: list[tuple[str, str]] = []
    base = "/api/dependents?language=npm&package=ms&resolved=true&version=%5E2.1&limit=3"
    url = base
    while url:
        body = await _get(client, url)
        assert len(body["items"]) <= 3
        seen += [(item["repo"], item["version"]) for item in body["items"]]
        url = f"{base}&cursor={body['next_cursor']}" if body["next_cursor"] else ""
    assert len(seen) == len(set(seen)) == body["total"] == 7 + 4, "every 2.1.3, and 2.1.0 and 2.2.0"
    assert [repo for repo, _ in seen] == sorted((repo for repo, _ in seen), key=lambda r: int(r.rsplit("p", 1)[1]))


async def test_the_summary_counts_repositories_per_version(client: Client, world: asyncpg.Connection) -> None:
    body = await _get(client, "/api/dependents/summary?language=npm&package=qs&resolved=true")
    assert body["versions"] == [
        {"version": "6.11.0", "repos": 2, "rows": 2, "matches": True},
        {"version": "6.5.3", "repos": 2, "rows": 2, "matches": True},
        {"version": "1.2.9", "repos": 1, "rows": 1, "matches": True},
        {"version": "1.4.0", "repos": 1, "rows": 1, "matches": True},
    ]
    assert (body["repos"], body["total"]) == (4, 6)


async def test_an_unknown_package_or_a_matching_nothing_is_an_empty_answer(
    client: Client, world: asyncpg.Connection
) -> None:
    for url in (
        "/api/dependents?language=npm&package=nothing&resolved=true",
        "/api/dependents?language=npm&package=qs&resolved=true&version=%5E9",
    ):
        body = await _get(client, url)
        assert (body["items"], body["repos"], body["total"], body["next_cursor"]) == ([], 0, 0, None)


async def test_a_reindexed_repository_is_seen_once_its_change_is_announced(
    client: Client, world: asyncpg.Connection
) -> None:
    url = "/api/dependents?language=npm&package=qs&resolved=true&version=6.11.0"
    assert (await _get(client, url))["repos"] == 2
    await index_locked(world, "example.com/api", "npm", locked("qs", "6.12.0"), revision="rev2")

    async def recounted() -> bool:
        body = await _get(client, url)
        return (body["repos"], [i["repo"] for i in body["items"]]) == (1, ["example.com/web"])

    await eventually(recounted, "the cached counts are dropped when the writer replaces a repository's lockfile rows")


async def test_a_page_is_kept_with_its_etag_until_the_package_changes(
    client: Client, world: asyncpg.Connection
) -> None:
    url = "/api/dependents?language=npm&package=qs&resolved=true&version=^6"
    first = await client.get(url)
    etag = first.headers["ETag"]
    assert first.status == 200 and etag
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    await index_locked(world, "example.com/api", "npm", locked("qs", "5.0.0"), revision="rev2")

    async def changed() -> bool:
        response = await client.get(url, headers={"If-None-Match": etag})
        return response.status == 200 and (await response.json())["repos"] == 2

    await eventually(changed, "a cached page ends when the package's resolved rows change")


async def test_without_resolved_the_declared_dependents_are_answered(client: Client, db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/decl", scan_of([("npm", "qs", "^6.0.0")]))
    for url in ("/api/dependents?language=npm&package=qs", "/api/dependents?language=npm&package=qs&resolved=false"):
        body = await _get(client, url)
        assert [(i["repo"], i["range"]) for i in body["items"]] == [("example.com/decl", "^6.0.0")]
        assert "resolved" not in body


@pytest.mark.parametrize(
    "query",
    [
        "language=cobol&package=qs&resolved=true",
        "language=npm&package=qs&resolved=maybe",
        "language=npm&package=qs&resolved=true&version=%5E%5E1..",
        "language=python&package=qs&resolved=true&version=~~2",
        "language=java&package=qs&resolved=true&version=%5B1.0,",
        "language=npm&package=qs&resolved=true&direct=yes",
        "language=npm&package=qs&resolved=true&dev=1",
        "language=npm&package=qs&direct=true",
        "language=npm&package=qs&resolved=true&cursor=bm90IG91cnM",
        "language=npm&package=qs&resolved=true&limit=5000",
        "language=npm&package=qs&resolved=true&version=" + "1" * 300,
    ],
)
async def test_bad_input_is_a_400_problem(client: Client, world: asyncpg.Connection, query: str) -> None:
    await _get(client, f"/api/dependents?{query}", 400)


async def test_answers_are_what_the_openapi_document_says(client: Client, world: asyncpg.Connection) -> None:
    document = await _get(client, "/api/openapi.json")

    def check(body: dict[str, Any], schema: str) -> None:
        root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
        Draft202012Validator(root).validate(body)

    check(
        await _get(client, "/api/dependents?language=npm&package=qs&resolved=true&version=6.5.3"),
        "ResolvedDependentPage",
    )
    check(await _get(client, "/api/dependents/summary?language=npm&package=qs&resolved=true"), "ResolvedSummary")


async def test_rare_versions_page_as_completely_as_common_ones(client: Client, db: asyncpg.Connection) -> None:
    """A range keeping a small share of the rows pages by merging its versions; a wide one in
    repository order (registry.services.resolved.ORDERED_SHARE): both answer the same pages."""
    for n in range(40):
        await index_locked(db, f"example.com/common{n:02}", "npm", locked("ms", "1.0.0"))
    await index_locked(db, "example.com/rare-a", "npm", locked("ms", "2.1.0"))
    await index_locked(db, "example.com/rare-b", "npm", locked("ms", "2.0.0", via=("debug@4.3.4",)))
    for asked, expected in (("%5E2", 2), ("%3E%3D1", 42)):
        seen: list[str] = []
        base = f"/api/dependents?language=npm&package=ms&resolved=true&version={asked}&limit=5"
        url = base
        while url:
            body = await _get(client, url)
            seen += [item["repo"] for item in body["items"]]
            url = f"{base}&cursor={body['next_cursor']}" if body["next_cursor"] else ""
        assert len(seen) == len(set(seen)) == body["total"] == body["repos"] == expected
