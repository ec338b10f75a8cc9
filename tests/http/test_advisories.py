"""Advisories over HTTP: imported OSV records (tests/fixtures/osv) against really indexed
repositories — which repositories each affects, through which manifest, and the first fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from indexer.advisories import import_advisories
from tests.support.index import index_repo, scan_of

Client = TestClient[web.Request, web.Application]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "osv"


SHOP_LODASH = {  # example.com/shop's lodash dependency, as both advisory routes show it
    "language": "npm",
    "package": "lodash",
    "range": "^4.17.0",
    "version": None,
    "dep_type": "dependencies",
    "path": "web/package.json",
    "depth": None,
    "dependency_path": None,
    "match": "declared",
    "witness": "4.17.0",
    "first_fixed": "4.17.19",
}


async def _get(client: Client, url: str, status: int = 200) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    return body


@pytest.fixture
async def world(db: asyncpg.Connection) -> asyncpg.Connection:
    """Repositories of every indexed ecosystem an advisory names, then the advisories."""
    repos: list[tuple[str, str, str, str, str]] = [
        ("example.com/shop", "npm", "lodash", "^4.17.0", "web/package.json"),
        ("example.com/shop", "npm", "left-pad", "^1.3.0", "web/package.json"),
        ("example.com/patched", "npm", "lodash", "^4.17.19", "package.json"),
        ("example.com/ancient", "npm", "lodash", "~3.6.0", "package.json"),
        ("example.com/mono", "npm", "lodash", "workspace:*", "package.json"),
        ("example.com/api", "java", "org.apache.logging.log4j:log4j-core", "2.14.1", "services/api/pom.xml"),
        ("example.com/site", "python", "jinja2", "==2.10", "requirements.txt"),
        ("example.com/daemon", "go", "github.com/docker/docker", "v20.10.7+incompatible", "go.mod"),
        ("example.com/proxy", "rust", "hyper", "0.14", "Cargo.toml"),
    ]
    for uri in dict.fromkeys(uri for uri, *_ in repos):
        rows = [(language, package, declared) for u, language, package, declared, _ in repos if u == uri]
        path = next(path for u, *_, path in repos if u == uri)
        await index_repo(db, uri, scan_of(rows, path=path))
    await import_advisories(db, FIXTURES)
    return db


async def test_an_advisory_is_found_by_id_or_alias(client: Client, world: asyncpg.Connection) -> None:
    body = await _get(client, "/api/advisories/GHSA-jfh8-c2jp-5v3q")
    assert body["id"] == "GHSA-jfh8-c2jp-5v3q"
    assert body["aliases"] == ["CVE-2021-44228"]
    assert body["summary"] == "Remote code injection in Log4j"
    assert body["modified"] == "2024-01-10T15:22:41+00:00"
    assert body["withdrawn"] is None
    [affected] = body["affected"]
    assert affected["ecosystem"] == "Maven" and affected["language"] == "java"
    assert affected["ranges"][2] == {"type": "ECOSYSTEM", "events": [{"introduced": "2.0-beta9"}, {"fixed": "2.3.1"}]}
    assert affected["fixed"] == ["2.15.0", "2.12.2", "2.3.1"]
    assert (await _get(client, "/api/advisories/CVE-2021-44228"))["id"] == "GHSA-jfh8-c2jp-5v3q"


@pytest.mark.parametrize(
    ("advisory", "status"),
    [("GHSA-0000-0000-0000", 404), ("CVE-1999-0001", 404), ("not%20an%20id", 400), ("a" * 200, 400), ("-x", 400)],
)
async def test_unknown_and_malformed_ids_are_problems(
    client: Client, world: asyncpg.Connection, advisory: str, status: int
) -> None:
    for url in (f"/api/advisories/{advisory}", f"/api/advisories/{advisory}/affected"):
        response = await client.get(url)
        assert response.status == status
        assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("advisory", "repo", "path", "declared", "witness", "first_fixed"),
    [
        ("CVE-2021-44228", "example.com/api", "services/api/pom.xml", "2.14.1", "2.14.1", "2.15.0"),
        ("PYSEC-2019-217", "example.com/site", "requirements.txt", "==2.10", "2.10", "2.10.1"),
        (
            "GO-2022-0390",
            "example.com/daemon",
            "go.mod",
            "v20.10.7+incompatible",
            "20.10.7+incompatible",
            "20.10.9+incompatible",
        ),
        ("RUSTSEC-2021-0078", "example.com/proxy", "Cargo.toml", "0.14", "0.14", "0.14.10"),
    ],
)
async def test_each_ecosystems_advisory_finds_the_repository_declaring_an_affected_range(
    client: Client,
    world: asyncpg.Connection,
    advisory: str,
    repo: str,
    path: str,
    declared: str,
    witness: str,
    first_fixed: str,
) -> None:
    body = await _get(client, f"/api/advisories/{advisory}/affected")
    [row] = body["items"]
    assert {k: row[k] for k in ("repo", "path", "range", "version", "match", "witness", "first_fixed")} == {
        "repo": repo,
        "path": path,
        "range": declared,
        "version": None,
        "match": "declared",
        "witness": witness,
        "first_fixed": first_fixed,
    }
    assert body["next_cursor"] is None


async def test_lodash_affects_the_ranges_admitting_an_affected_version_and_reports_the_unevaluable(
    client: Client, world: asyncpg.Connection
) -> None:
    body = await _get(client, "/api/advisories/GHSA-p6mc-m468-83gw/affected")
    rows = {item["repo"]: item for item in body["items"]}
    assert set(rows) == {"example.com/shop", "example.com/mono"}, "^4.17.19 and ~3.6.0 admit no affected version"
    assert rows["example.com/shop"] | {"repo_id": 0} == {"repo": "example.com/shop", "repo_id": 0, **SHOP_LODASH}
    assert (rows["example.com/mono"]["match"], rows["example.com/mono"]["witness"]) == ("unknown", None)


async def test_affected_repositories_page_by_repository_without_repeats(
    client: Client, world: asyncpg.Connection
) -> None:
    for n in range(5):
        await index_repo(world, f"example.com/more{n}", scan_of([("npm", "lodash", f"^4.{n}.0")]))
    seen: list[str] = []
    base = "/api/advisories/CVE-2020-8203/affected?limit=2"
    url = base
    while url:
        body = await _get(client, url)
        assert len(body["items"]) <= 2
        seen += [item["repo"] for item in body["items"]]
        url = f"{base}&cursor={body['next_cursor']}" if body["next_cursor"] else ""
    assert len(seen) == len(set(seen)) == 7
    response = await client.get("/api/advisories/CVE-2020-8203/affected?cursor=bm90IG91cnM")
    assert response.status == 400


async def test_a_withdrawn_advisory_is_shown_and_affects_nothing(client: Client, world: asyncpg.Connection) -> None:
    body = await _get(client, "/api/advisories/GHSA-4xcv-9jjx-gfj3")
    assert body["withdrawn"] == "2023-02-01T10:00:00+00:00"
    affected = await _get(client, "/api/advisories/GHSA-4xcv-9jjx-gfj3/affected")
    assert (affected["withdrawn"], affected["items"]) == ("2023-02-01T10:00:00+00:00", [])
    shop = await _get(client, "/api/repos/example.com/shop/advisories")
    assert [item["advisory"] for item in shop["items"]] == ["GHSA-p6mc-m468-83gw"], "left-pad's was withdrawn"


async def test_a_repositorys_advisories(client: Client, world: asyncpg.Connection) -> None:
    body = await _get(client, "/api/repos/example.com/shop/advisories")
    assert body["repo"] == "example.com/shop"
    lodash = {
        "advisory": "GHSA-p6mc-m468-83gw",
        "aliases": ["CVE-2020-8203"],
        "summary": "Prototype Pollution in lodash",
    }
    assert body["items"] == [{**lodash, **SHOP_LODASH}]
    assert (await _get(client, "/api/repos/example.com/patched/advisories"))["items"] == []


async def test_a_repositorys_advisories_page_through_every_match(client: Client, world: asyncpg.Connection) -> None:
    deps = [
        ("npm", "lodash", "^4.17.0"),
        ("npm", "left-pad", "*"),
        ("java", "org.apache.logging.log4j:log4j-core", "[2.0,2.16)"),
        ("python", "jinja2", ">=2.9"),
        ("rust", "hyper", "0.14.10"),  # fixed: not affected
    ]
    await index_repo(world, "example.com/everything", scan_of(deps))
    seen: list[str] = []
    cursor = ""
    while True:
        body = await _get(client, f"/api/repos/example.com/everything/advisories?limit=1{cursor}")
        seen += [item["advisory"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert seen == ["GHSA-jfh8-c2jp-5v3q", "GHSA-p6mc-m468-83gw", "PYSEC-2019-217"]


async def test_repository_advisories_of_unknown_and_malformed_repositories(
    client: Client, world: asyncpg.Connection
) -> None:
    missing = await client.get("/api/repos/example.com/nothing/advisories")
    assert missing.status == 404
    malformed = await client.get("/api/repos/example.com/a%20b/advisories")
    assert malformed.status == 400
    assert malformed.content_type == "application/problem+json"


async def test_the_advisory_page_links_the_affected_repositories(client: Client, world: asyncpg.Connection) -> None:
    response = await client.get("/advisories/CVE-2020-8203", headers={"Accept": "text/html"})
    assert response.status == 200
    page = await response.text()
    assert "Prototype Pollution in lodash" in page
    assert '<a href="/api/repos/example.com/shop/advisories">example.com/shop</a>' in page
    assert "<code>4.17.19</code>" in page
    assert 'href="/packages/npm/lodash"' in page
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    missing = await client.get("/advisories/GHSA-0000-0000-0000", headers={"Accept": "text/html"})
    assert missing.status == 404
    assert missing.content_type == "text/html"
