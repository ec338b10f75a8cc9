"""The web page of a package's resolved dependents: who runs it, at which version, through what."""

from __future__ import annotations

import html
import re

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.ecosystems.base import ResolvedDependency
from tests.support.index import index_repo, scan_of

Client = TestClient[web.Request, web.Application]


async def _page(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path, headers={"Accept": "text/html"})
    assert response.status == status, await response.text()
    assert response.content_type == "text/html"
    return await response.text()


@pytest.fixture
async def world(db: asyncpg.Connection) -> asyncpg.Connection:
    for n, (version, via) in enumerate([("4.17.21", ()), ("4.17.15", ("webpack@4.46.0",)), ("3.10.1", ())]):
        scan = scan_of([("npm", "lodash", "^4.0.0")])
        depth = len(via) + 1
        row = ResolvedDependency(
            "@x/lodash", version, depth == 1, depth, via, False, False, "package-lock.json", via=via
        )
        scan.resolved = [("npm", row)]
        await index_repo(db, f"example.com/r{n}", scan, "rev")
    return db


async def test_the_page_lists_repositories_versions_and_paths(client: Client, world: asyncpg.Connection) -> None:
    text = await _page(client, "/packages/npm/@x/lodash/-/resolved")
    assert "3 repositories" in text
    assert '<a href="/api/repos/example.com/r1">example.com/r1</a>' in text
    assert "webpack@4.46.0 → @x/lodash@4.17.15" in text
    assert "transitive (2)" in text


async def test_a_range_filters_and_each_version_says_whether_it_matches(
    client: Client, world: asyncpg.Connection
) -> None:
    text = await _page(client, "/packages/npm/@x/lodash/-/resolved?version=%5E4.17")
    assert "example.com/r0" in text and "example.com/r1" in text and "example.com/r2" not in text
    assert '<td><code>3.10.1</code></td><td class="num">1</td><td>no</td>' in text


async def test_pages_follow_each_other(client: Client, world: asyncpg.Connection) -> None:
    first = await _page(client, "/packages/npm/@x/lodash/-/resolved?limit=2&version=%3E%3D3")
    assert "example.com/r1" in first and "example.com/r2" not in first
    found = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert found is not None
    second = await _page(client, html.unescape(found[1]))
    assert "example.com/r2" in second and "example.com/r1" not in second
    assert 'rel="next"' not in second and "First page" in second


async def test_the_declared_page_links_to_the_resolved_one(client: Client, world: asyncpg.Connection) -> None:
    text = await _page(client, "/packages/npm/@x/lodash")
    assert "/packages/npm/%40x/lodash/-/resolved" in text


async def test_nothing_resolved_and_bad_filters(client: Client, world: asyncpg.Connection) -> None:
    assert "No indexed repository runs nothing-here" in await _page(client, "/packages/npm/nothing-here/-/resolved")
    await _page(client, "/packages/cobol/lodash/-/resolved", status=404)
    await _page(client, "/packages/npm/@x/lodash/-/resolved?version=%5E%5E1..", status=400)
