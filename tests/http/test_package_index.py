"""The package index over HTTP: dependents (with version ranges), definers, repositories, queueing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.db.queries import Query
from registry.domain.page import PageRequest
from registry.store.package_index import DEPENDENT_REPOS, DEPENDENTS_BY_GIN, DEPENDENTS_IN_ORDER
from testkit.databases import DatabaseServer
from tests.conftest import ClientWith
from tests.support.eventually import eventually
from tests.support.factories import make_user
from tests.support.index import index_repo, scan_of

Client = TestClient[web.Request, web.Application]


async def _get(client: Client, url: str) -> dict[str, Any]:
    response = await client.get(url)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _lodash_world(db: asyncpg.Connection) -> None:
    ranges = ["^4.17.0", "~4.16.0", ">=3 <4", "4.17.21", "workspace:*", "^4.0.0"]
    for n, declared in enumerate(ranges):
        await index_repo(db, f"example.com/app{n}", scan_of([("npm", "lodash", declared), ("npm", "react", "^18")]))
    await index_repo(db, "example.com/py", scan_of([("python", "lodash", ">=1")], path="requirements.txt"))


async def test_dependents_lists_repositories_with_range_type_and_path(client: Client, db: asyncpg.Connection) -> None:
    await _lodash_world(db)
    body = await _get(client, "/api/dependents?language=npm&package=lodash")
    assert body["total"] == 6
    assert [item["repo"] for item in body["items"]] == [f"example.com/app{n}" for n in range(6)]
    assert body["items"][0] == {
        "repo": "example.com/app0",
        "repo_id": body["items"][0]["repo_id"],
        "range": "^4.17.0",
        "dep_type": "dependencies",
        "path": "package.json",
    }
    assert (await _get(client, "/api/dependents?language=python&package=lodash"))["total"] == 1


async def test_dependents_pages_never_repeat_and_the_total_follows_the_index(
    client: Client, db: asyncpg.Connection
) -> None:
    await _lodash_world(db)
    first = await _get(client, "/api/dependents?language=npm&package=lodash&limit=4")
    assert first["total"] == 6
    await index_repo(db, "example.com/zz-late", scan_of([("npm", "lodash", "^4")]))
    second = await _get(client, f"/api/dependents?language=npm&package=lodash&limit=4&cursor={first['next_cursor']}")
    seen = [i["repo"] for i in first["items"] + second["items"]]
    assert seen[:6] == [f"example.com/app{n}" for n in range(6)]
    assert len(seen) == len(set(seen))

    async def counted() -> bool:
        return (await _get(client, "/api/dependents?language=npm&package=lodash&limit=1"))["total"] == 7

    await eventually(counted, "the cached total is dropped when the indexer adds a dependent (any node)")


@pytest.mark.parametrize(
    ("version", "admitted"),
    [
        ("4.17.21", {"^4.17.0", "4.17.21", "^4.0.0"}),
        ("4.16.5", {"~4.16.0", "^4.0.0"}),
        ("3.10.1", {">=3 <4"}),
        ("5.0.0", set()),
    ],
)
async def test_a_version_keeps_the_dependents_whose_range_admits_it(
    client: Client, db: asyncpg.Connection, version: str, admitted: set[str]
) -> None:
    await _lodash_world(db)
    body = await _get(client, f"/api/dependents?language=npm&package=lodash&version={version}")
    evaluated = {item["range"] for item in body["items"] if item["admits"] is True}
    assert evaluated == admitted
    unevaluated = [item["range"] for item in body["items"] if item["admits"] is None]
    assert unevaluated == ["workspace:*"], "a range that cannot be evaluated is reported, not dropped"
    assert body["unevaluated"] == 1
    assert body["total"] == len(admitted) + 1


async def test_python_names_and_specifiers_follow_pep_503_and_440(client: Client, db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/a", scan_of([("python", "zope-interface", ">=5,<6")], path="pyproject.toml"))
    await index_repo(db, "example.com/b", scan_of([("python", "zope-interface", "==4.*")], path="setup.cfg"))
    body = await _get(client, "/api/dependents?language=python&package=Zope.Interface&version=5.4")
    assert [item["repo"] for item in body["items"]] == ["example.com/a"]


async def test_the_summary_counts_dependents_per_range(client: Client, db: asyncpg.Connection) -> None:
    await _lodash_world(db)
    await index_repo(db, "example.com/again", scan_of([("npm", "lodash", "^4.17.0")]))
    body = await _get(client, "/api/dependents/summary?language=npm&package=lodash&version=4.17.21")
    assert body["total"] == 7
    assert body["ranges"][0] == {"range": "^4.17.0", "count": 2, "admits": True}
    assert {"range": "workspace:*", "count": 1, "admits": None} in body["ranges"]


async def _fill_big_index(dsn: str) -> None:
    db = await asyncpg.connect(dsn)
    try:
        await db.execute("INSERT INTO repo (uri) SELECT 'example.com/r' || n FROM generate_series(1, 2000) n")
        await db.execute(
            "INSERT INTO global_dep (language, dep_data, repo_id, hints)"
            " SELECT 'npm', jsonb_build_object('package', CASE WHEN n % 10 = 0 THEN 'p0' ELSE 'p' || (n % 5000) END,"
            "        'version', '^1', 'depType', 'dependencies'), 1 + n % 2000, '{}' FROM generate_series(1, 200000) n"
        )
        await db.execute("VACUUM ANALYZE global_dep")
        await db.execute("ANALYZE repo")
    finally:
        await db.close()


@pytest.fixture(scope="module")
def big_index_url(database_server: DatabaseServer, template_database: str) -> Iterator[str]:
    """A database of this module's own, filled once: the tests below only read it (4-6 s a fill)."""
    name = asyncio.run(database_server.copy_of(template_database))
    asyncio.run(_fill_big_index(database_server.dsn(name)))
    yield database_server.dsn(name)
    asyncio.run(database_server.drop(name))


@pytest.fixture
async def big_index(big_index_url: str) -> AsyncIterator[asyncpg.Connection]:
    """200,000 dependencies over 5,000 packages: big enough for the planner to choose by cost;
    `p0` is popular (20,000 dependents), `p7` rare (40). Read only."""
    conn = await asyncpg.connect(big_index_url)
    yield conn
    await conn.close()


async def _plan(db: asyncpg.Connection, query: Query, package: str, ranges: list[str] | None) -> str:
    params = {"package": package, "language": "npm", "declared_ranges": ranges, "after_repo": None, "after_id": None}
    return "\n".join(row[0] for row in await db.fetch("EXPLAIN " + query.text, *query.args({**params, "limit": 101})))


@pytest.mark.parametrize("ranges", [None, ["^1"]], ids=["any-version", "with-version"])
async def test_few_dependents_are_answered_by_the_gin_index(
    big_index: asyncpg.Connection, ranges: list[str] | None
) -> None:
    plan = await _plan(big_index, DEPENDENTS_BY_GIN, "p7", ranges)
    assert "Bitmap Index Scan on global_dep_idxgin" in plan


@pytest.mark.parametrize("ranges", [None, ["^1"]], ids=["any-version", "with-version"])
async def test_a_popular_packages_page_stops_early_in_the_ordered_index(
    big_index: asyncpg.Connection, ranges: list[str] | None
) -> None:
    plan = await _plan(big_index, DEPENDENTS_IN_ORDER, "p0", ranges)
    # the LIMIT sits right on the ordered index scan: the 20,000 matches are never all read or sorted
    assert re.search(r"Limit .*\n\s*->  Index Scan using global_dep_dependents", plan), plan


@pytest.mark.parametrize("ranges", [None, ["^1"]], ids=["any-version", "with-version"])
@pytest.mark.parametrize("package", ["p0", "p7"], ids=["popular", "rare"])
async def test_a_page_of_repositories_stops_after_its_repositories(
    big_index: asyncpg.Connection, package: str, ranges: list[str] | None
) -> None:
    """The by-repository page (/api/dependents/repositories): the LIMIT sits on a GroupAggregate
    streaming over the ordered index, so a popular package's 20,000 matches are never all read,
    grouped or sorted; each repository's declarations are then one probe of the same index."""
    params = {"package": package, "language": "npm", "declared_ranges": ranges, "after_repo": 0}
    args = DEPENDENT_REPOS.args({**params, "limit": 101, "per_repo": 10})
    plan = "\n".join(row[0] for row in await big_index.fetch("EXPLAIN " + DEPENDENT_REPOS.text, *args))
    assert re.search(
        r"Limit .*\n\s*->  GroupAggregate .*\n(.*\n)?\s*->  Index (Only )?Scan using global_dep_dependents", plan
    ), plan
    assert "Seq Scan on global_dep" not in plan and "HashAggregate" not in plan, plan


async def test_per_range_counts_come_from_the_ordered_index(big_index: asyncpg.Connection) -> None:
    """An index-only scan once VACUUM has marked the pages all-visible (other sessions on the
    test server can hold that back, so the test accepts the same index read with heap checks)."""
    plan = "\n".join(
        row[0]
        for row in await big_index.fetch(
            "EXPLAIN SELECT declared, count(*) FROM global_dep WHERE language = 'npm' AND package = 'p0' GROUP BY 1"
        )
    )
    assert "global_dep_dependents" in plan
    assert "Seq Scan" not in plan


async def test_both_paths_answer_the_same(client: Client, big_index: asyncpg.Connection) -> None:
    from registry.store.package_index import dependents_page

    few = await dependents_page(big_index, "npm", "p0", matching=1, page=PageRequest(50))
    many = await dependents_page(big_index, "npm", "p0", matching=10**9, page=PageRequest(50))
    assert few == many
    assert len(few.items) == 50


async def test_definers_and_a_repositorys_rows(client: Client, db: asyncpg.Connection) -> None:
    await index_repo(
        db,
        "github.com/acme/mono",
        scan_of([("npm", "lodash", "^4")], [("npm", "@acme/ui", "2.0.0"), ("npm", "@acme/core", "2.0.0")]),
        "abc123",
    )
    defines = await _get(client, "/api/packages?language=npm&name=@acme/ui")
    assert defines["items"] == [
        {
            "repo": "github.com/acme/mono",
            "repo_id": defines["items"][0]["repo_id"],
            "name": "@acme/ui",
            "version": "2.0.0",
            "path": "package.json",
        }
    ]
    deps = await _get(client, "/api/repos/github.com/acme/mono/dependencies")
    assert deps["indexed_revision"] == "abc123"
    assert deps["items"] == [
        {
            "language": "npm",
            "package": "lodash",
            "version": "^4",
            "depType": "dependencies",
            "hints": {"path": "package.json"},
        }
    ]
    packages = await _get(client, "/api/repos/github.com/acme/mono/packages?limit=1")
    assert len(packages["items"]) == 1
    assert packages["next_cursor"] is not None
    repo = await _get(client, "/api/repos/github.com/acme/mono")
    assert repo["indexed_revision"] == "abc123"
    assert repo["queue"] is None
    assert (await client.get("/api/repos/github.com/nobody/none/dependencies")).status == 404


@pytest.mark.parametrize(
    "query",
    [
        "language=cobol&package=x",
        "package=x",
        "language=npm",
        "language=npm&package=",
        "language=npm&package=x&limit=5000",
        "language=npm&package=x&cursor=WzFd",
        "language=npm&package=x&version=" + "9" * 300,
    ],
)
async def test_bad_queries_are_400(client: Client, query: str) -> None:
    response = await client.get(f"/api/dependents?{query}")
    assert response.status == 400
    assert response.headers["Content-Type"] == "application/problem+json"


async def test_site_admins_queue_repositories_for_the_indexer(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    body = {"uri": "github.com/acme/tool", "source": "https://github.com/acme/tool.git", "revision": "main"}
    assert (await client.post("/api/repos", json=body)).status == 401
    assert (await client.post("/api/repos", json=body, headers=alice.headers)).status == 403
    response = await client.post("/api/repos", json=body, headers=admin.headers)
    assert response.status == 202
    repo = await _get(client, "/api/repos/github.com/acme/tool")
    assert repo["queue"]["revision"] == "main"
    again = await client.post("/api/repos/github.com/acme/tool/index", json={"revision": "v2"}, headers=admin.headers)
    assert again.status == 202
    assert (await again.json())["source"] == "https://github.com/acme/tool.git", "the source is remembered"
    assert (await client.post("/api/repos/github.com/none/index", json={}, headers=admin.headers)).status == 404
    assert (await client.post("/api/repos", json={"uri": "x"}, headers=admin.headers)).status == 422


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("/srv/git/acme/tool.git", "local paths are not allowed"),
        ("file:///srv/git/acme/tool.git", "file:// sources are not allowed"),
        ("http://github.com/acme/tool.git", "the scheme http:// is not allowed"),
        ("ftp://github.com/acme/tool.git", "the scheme ftp:// is not allowed"),
        ("ext::sh -c touch% /tmp/pwned", "whitespace"),
        ("ext::git-remote-evil", "must be a URL"),
        ("git@github.com:acme/tool.git", "ssh://user@host/path"),
        ("https://169.254.169.254/latest/meta-data", "the host 169.254.169.254 is not on the indexer's allow-list"),
        ("https://github.com.evil.example/acme/tool", "is not on the indexer's allow-list"),
        ("https://localhost:8080/acme/tool", "the host localhost is not on"),
        ("ssh://git:hunter22@github.com/acme/tool.git", "never a password"),
        ("git://u:hunter22@github.com/acme/tool.git", "takes no credentials"),
        ("https://github.com/acme/tool.git?upload-pack=x", "without query"),
        ("https://github.com/", "a repository path"),
        ("https://github.com:99999/acme/tool", "not a valid URL"),
    ],
)
async def test_a_source_off_the_allow_list_is_refused_when_queued(
    client: Client, db: asyncpg.Connection, source: str, says: str
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    response = await client.post(
        "/api/repos", json={"uri": "github.com/acme/tool", "source": source}, headers=admin.headers
    )
    assert response.status == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = await response.json()
    assert says in problem["detail"]
    assert problem["errors"][0]["pointer"] == "/source"
    assert "hunter22" not in await response.text(), "a refusal never repeats a credential"
    assert await db.fetchval("SELECT count(*) FROM repo_index_queue") == 0


@pytest.mark.parametrize("revision", ["--upload-pack=touch /tmp/pwned", "main\nx", "a b", ""])
async def test_a_revision_that_looks_like_an_option_is_refused(
    client: Client, db: asyncpg.Connection, revision: str
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    body = {"uri": "github.com/acme/tool", "source": "https://github.com/acme/tool.git", "revision": revision}
    response = await client.post("/api/repos", json=body, headers=admin.headers)
    assert response.status == 422
    assert (await response.json())["errors"][0]["pointer"] == "/revision"


async def test_credentials_in_a_source_are_kept_apart_and_never_answered(
    client: Client, db: asyncpg.Connection
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    body = {"uri": "github.com/acme/private", "source": "https://x-access-token:s3cr3t-t0ken@github.com/acme/private"}
    queued = await client.post("/api/repos", json=body, headers=admin.headers)
    assert queued.status == 202
    assert "s3cr3t" not in await queued.text()
    assert (await queued.json())["source"] == "https://github.com/acme/private"
    stored = await db.fetchrow("SELECT source, credentials FROM repo_index_queue")
    assert stored is not None
    assert (stored["source"], stored["credentials"]) == (
        "https://github.com/acme/private",
        "x-access-token:s3cr3t-t0ken",
    )
    shown = await client.get("/api/repos/github.com/acme/private", headers=admin.headers)
    assert "s3cr3t" not in await shown.text()

    again = await client.post(
        "/api/repos/github.com/acme/private/index", json={"revision": "v2"}, headers=admin.headers
    )
    assert again.status == 202
    assert "s3cr3t" not in await again.text()
    assert await db.fetchval("SELECT credentials FROM repo_index_queue") == "x-access-token:s3cr3t-t0ken", "kept"

    other = {"source": "https://github.com/acme/private"}
    assert (
        await client.post("/api/repos/github.com/acme/private/index", json=other, headers=admin.headers)
    ).status == 202
    assert await db.fetchval("SELECT credentials FROM repo_index_queue") is None, "a new source replaces them"


async def test_an_operator_may_allow_local_sources_and_more_hosts(
    client_with: ClientWith, db: asyncpg.Connection
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    client = await client_with(
        git_allow_local=True, git_allowed_schemes=("https", "http"), git_allowed_hosts=("*.example.com",)
    )
    for n, source in enumerate(
        ["/srv/git/acme/tool.git", "file:///srv/git/acme/tool.git", "http://git.example.com/acme/tool"]
    ):
        body = {"uri": f"example.com/r{n}", "source": source}
        response = await client.post("/api/repos", json=body, headers=admin.headers)
        assert response.status == 202, await response.text()
    refused = {"uri": "example.com/x", "source": "https://github.com/acme/tool"}
    assert (await client.post("/api/repos", json=refused, headers=admin.headers)).status == 422
