"""Dependents counted as users count them (issue 16): a repository is one dependent however many of
its manifests declare the package; its own packages and its declarations are counted apart, and
/api/dependents/repositories pages by repository with each one's declarations grouped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from indexer.advisories import import_advisories
from indexer.scan import Scan
from registry.ecosystems.base import Dependency, PackageDef
from tests.support.eventually import eventually
from tests.support.index import index_repo, scan_of

Client = TestClient[web.Request, web.Application]
OSV = Path(__file__).resolve().parents[1] / "fixtures" / "osv"
LODASH_ADVISORY = "GHSA-p6mc-m468-83gw"  # lodash before 4.17.19 (tests/fixtures/osv)


async def _get(client: Client, url: str, status: int = 200) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def monorepo(package: str, declared: list[tuple[str, str]], defines: dict[str, str]) -> Scan:
    """A repository whose manifests (path -> range) declare `package`; `defines`: path -> the
    package that manifest defines (a root manifest often defines none)."""
    scan = Scan()
    scan.dependencies = [
        ("npm", Dependency(package, declared_range, "devDependencies", path)) for path, declared_range in declared
    ]
    scan.packages = [("npm", PackageDef(name, "1.0.0", path)) for path, name in defines.items()]
    return scan


SEVEN = [("package.json", "^5.4.0")] + [
    (f"packages/p{n}/package.json", "^5.4.0" if n % 2 else "~5.3.0") for n in range(6)
]


async def test_a_monorepo_declaring_in_seven_manifests_is_one_repository_seven_packages_seven_declarations(
    client: Client, db: asyncpg.Connection
) -> None:
    defines = {f"packages/p{n}/package.json": f"@acme/p{n}" for n in range(6)}  # the root defines none
    await index_repo(db, "example.com/acme/monorepo", monorepo("typescript", SEVEN, defines))
    counts = {"repositories": 1, "packages": 7, "declarations": 7}  # the root manifest is a package too

    body = await _get(client, "/api/dependents/repositories?language=npm&package=typescript")
    assert {key: body[key] for key in counts} == counts
    assert body["total"] == 1 and body["next_cursor"] is None
    [repo] = body["items"]
    assert (repo["repo"], repo["declarations"], repo["more"]) == ("example.com/acme/monorepo", 7, 0)
    declared = {d["path"]: d for d in repo["declared"]}
    assert sorted(declared) == sorted(path for path, _ in SEVEN)
    assert declared["package.json"] == {
        "path": "package.json",
        "range": "^5.4.0",
        "dep_type": "devDependencies",
        "package": None,
    }
    assert declared["packages/p0/package.json"]["package"] == {"name": "@acme/p0", "version": "1.0.0"}

    summary = await _get(client, "/api/dependents/summary?language=npm&package=typescript")
    assert {key: summary[key] for key in counts} == counts
    assert summary["total"] == 7, "the summary's total stays the declarations it always counted"
    rows = await _get(client, "/api/dependents?language=npm&package=typescript")
    assert {key: rows[key] for key in counts} == counts
    assert rows["total"] == 7 and len(rows["items"]) == 7, "the per-declaration listing is unchanged"


async def test_a_package_declared_twice_in_one_manifest_counts_one_package(
    client: Client, db: asyncpg.Connection
) -> None:
    scan = monorepo("typescript", [("package.json", "^5")], {"package.json": "app"})
    scan.dependencies.append(("npm", Dependency("typescript", "^5", "peerDependencies", "package.json")))
    await index_repo(db, "example.com/app", scan)
    body = await _get(client, "/api/dependents/repositories?language=npm&package=typescript")
    assert (body["repositories"], body["packages"], body["declarations"]) == (1, 1, 2)


async def test_paging_by_repository_is_complete_and_never_repeats_while_the_index_changes(
    client: Client, db: asyncpg.Connection
) -> None:
    for n in range(7):
        declared = [(f"m{k}/package.json", f"^1.{k}") for k in range(n % 3 + 1)]
        await index_repo(db, f"example.com/r{n}", monorepo("left-pad", declared, {}))
    seen: list[str] = []
    declarations = 0
    url = "/api/dependents/repositories?language=npm&package=left-pad&limit=3"
    body = await _get(client, url)
    assert body["total"] == 7 and body["declarations"] == 1 + 2 + 3 + 1 + 2 + 3 + 1
    await index_repo(db, "example.com/r0", monorepo("left-pad", [("x/package.json", "^2")], {}))  # rewritten mid-way
    while True:
        seen += [item["repo"] for item in body["items"]]
        declarations += sum(len(item["declared"]) for item in body["items"])
        assert all(len(item["declared"]) == item["declarations"] for item in body["items"])
        if body["next_cursor"] is None:
            break
        body = await _get(client, f"{url}&cursor={body['next_cursor']}")
    assert seen == [f"example.com/r{n}" for n in range(7)], "every repository once, in order"
    assert declarations == 13


async def test_a_repository_with_more_declarations_than_the_cap_shows_the_first_and_counts_the_rest(
    client: Client, db: asyncpg.Connection
) -> None:
    declared = [(f"packages/p{n:03}/package.json", "^5") for n in range(25)]
    await index_repo(db, "example.com/huge", monorepo("typescript", declared, {}))
    await index_repo(db, "example.com/small", monorepo("typescript", declared[:1], {}))
    body = await _get(client, "/api/dependents/repositories?language=npm&package=typescript")
    huge, small = body["items"]
    assert (huge["declarations"], huge["more"], len(huge["declared"])) == (25, 15, 10), "ten by default"
    assert {d["path"] for d in huge["declared"]} < {path for path, _ in declared}
    assert (small["declarations"], small["more"]) == (1, 0)
    capped = await _get(client, "/api/dependents/repositories?language=npm&package=typescript&per_repo=3")
    assert [(i["declarations"], len(i["declared"]), i["more"]) for i in capped["items"]] == [(25, 3, 22), (1, 1, 0)]
    assert capped["declarations"] == 26


async def test_a_version_keeps_the_repositories_whose_declared_range_admits_it(
    client: Client, db: asyncpg.Connection
) -> None:
    await index_repo(db, "example.com/mono", monorepo("typescript", SEVEN, {}))
    await index_repo(db, "example.com/old", monorepo("typescript", [("package.json", "^4")], {}))
    await index_repo(db, "example.com/ws", monorepo("typescript", [("package.json", "workspace:*")], {}))
    body = await _get(client, "/api/dependents/repositories?language=npm&package=typescript&version=5.4.2")
    assert [item["repo"] for item in body["items"]] == ["example.com/mono", "example.com/ws"]
    assert (body["repositories"], body["declarations"], body["unevaluated"]) == (2, 5, 1)
    mono = body["items"][0]
    assert mono["declarations"] == 4 and {d["range"] for d in mono["declared"]} == {"^5.4.0"}
    assert all(d["admits"] is True for d in mono["declared"])
    assert body["items"][1]["declared"][0]["admits"] is None, "workspace:* cannot be evaluated: kept, marked"
    nothing = await _get(client, "/api/dependents/repositories?language=npm&package=typescript&version=9.0.0")
    assert [i["repo"] for i in nothing["items"]] == ["example.com/ws"], "only the unevaluable is left"
    assert (nothing["repositories"], nothing["declarations"], nothing["unevaluated"]) == (1, 1, 1)


async def test_an_advisory_keeps_the_repositories_it_affects(client: Client, db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/shop", scan_of([("npm", "lodash", "^4.17.0")], path="web/package.json"))
    await index_repo(db, "example.com/patched", scan_of([("npm", "lodash", "^4.17.19")]))
    await index_repo(db, "example.com/mono", scan_of([("npm", "lodash", "workspace:*")]))
    await import_advisories(db, OSV)
    url = f"/api/dependents/repositories?language=npm&package=lodash&advisory={LODASH_ADVISORY}"
    body = await _get(client, url)
    assert [(i["repo"], i["declared"][0]["match"]) for i in body["items"]] == [
        ("example.com/shop", "declared"),
        ("example.com/mono", "unknown"),
    ], "as /api/advisories/{id}/affected matches them"
    assert (body["advisory"], body["repositories"], body["declarations"]) == (LODASH_ADVISORY, 2, 2)
    both = await _get(client, f"{url}&version=4.17.5")
    assert [i["repo"] for i in both["items"]] == ["example.com/shop", "example.com/mono"]
    other = await _get(client, "/api/dependents/repositories?language=npm&package=lodash&advisory=GHSA-jfh8-c2jp-5v3q")
    assert (other["items"], other["repositories"]) == ([], 0), "an advisory about another package affects none"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("per_repo=0", 400),
        ("per_repo=101", 400),
        ("per_repo=ten", 400),
        ("advisory=not%20an%20id", 400),
        ("advisory=GHSA-0000-0000-0000", 404),
        ("cursor=bm9wZQ", 400),
        ("version=", 400),
    ],
)
async def test_bad_filters_are_problems(client: Client, query: str, status: int) -> None:
    response = await client.get(f"/api/dependents/repositories?language=npm&package=lodash&{query}")
    assert response.status == status, await response.text()
    assert response.headers["Content-Type"].startswith("application/problem+json")


async def test_the_counts_follow_the_index(client: Client, db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/a", monorepo("typescript", SEVEN, {}))
    url = "/api/dependents/repositories?language=npm&package=typescript"
    assert (await _get(client, url))["repositories"] == 1
    await index_repo(db, "example.com/b", monorepo("typescript", SEVEN[:2], {}))

    async def counted() -> bool:
        body = await _get(client, url)
        return (body["repositories"], body["declarations"]) == (2, 9)

    await eventually(counted, "the cached counts are dropped when the indexer changes the package's dependents")


async def test_a_page_carries_an_etag_and_a_client_holding_it_gets_a_304(
    client: Client, db: asyncpg.Connection
) -> None:
    await index_repo(db, "example.com/a", monorepo("typescript", SEVEN, {}))
    for route in ("/api/dependents/repositories", "/api/dependents"):
        url = f"{route}?language=npm&package=typescript"
        first = await client.get(url)
        assert first.status == 200 and first.headers["ETag"]
        again = await client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status == 304
