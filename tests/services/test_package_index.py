"""The package index's rules, without HTTP: dependents and their ranges, a repository's rows as
the indexer replaces them, and the index queue."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from registry.auth.tokens import Scope
from registry.db.lsn import CURRENT_FLOOR, ReadFloor
from registry.domain.actor import ANONYMOUS, Actor
from registry.domain.errors import BadRequest, Forbidden, NotFound, Unauthorized
from registry.domain.page import PageRequest
from registry.ecosystems import Ecosystem, ecosystem_named
from registry.services import Services
from registry.services.package_index import Dependents, SourceRequired
from registry.store.users import User
from registry.ttl_cache import TtlCache
from tests.support.index import index_repo, scan_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ROOT = Actor(User(1, "root", None, None, True, created_at=NOW, updated_at=NOW), frozenset({Scope.USER_ALL}))
ALICE = Actor(User(2, "alice", None, None, False, created_at=NOW, updated_at=NOW), frozenset({Scope.USER_ALL}))


def _ecosystem(language: str) -> Ecosystem:
    ecosystem = ecosystem_named(language)
    assert ecosystem is not None
    return ecosystem


async def _all_pages(services: Services, package: str, version: str | None, limit: int) -> list[Dependents]:
    pages = [await services.package_index.dependents(_ecosystem("npm"), package, version, PageRequest(limit))]
    while pages[-1].page.next_cursor is not None:
        page = PageRequest(limit, pages[-1].page.next_cursor)
        pages.append(await services.package_index.dependents(_ecosystem("npm"), package, version, page))
    return pages


async def test_dependents_page_in_repository_order_and_every_declaration_counts(
    services: Services, db: asyncpg.Connection
) -> None:
    for n in range(5):
        await index_repo(db, f"example.com/app{n}", scan_of([("npm", "lodash", "^4"), ("npm", "react", "^18")]))
    twice = scan_of([("npm", "lodash", "^4")])
    twice.dependencies += scan_of([("npm", "lodash", "~4.1")], path="web/package.json").dependencies
    await index_repo(db, "example.com/mono", twice)

    pages = await _all_pages(services, "lodash", None, limit=2)

    rows = [dependent.row for page in pages for dependent in page.page.items]
    assert [len(page.page.items) for page in pages] == [2, 2, 2, 1]
    assert [(row.repo_id, row.row_id) for row in rows] == sorted((row.repo_id, row.row_id) for row in rows)
    assert [row.repo for row in rows][-2:] == ["example.com/mono", "example.com/mono"]
    assert {page.total for page in pages} == {7}, "a repository declaring it in two manifests counts twice"
    assert all(dependent.admits is None for page in pages for dependent in page.page.items)


async def test_a_version_keeps_the_ranges_the_ecosystem_admits_and_those_it_cannot_judge(
    services: Services, db: asyncpg.Connection
) -> None:
    for n, declared in enumerate(["^4.17.0", "~4.16.0", ">=3 <4", "workspace:*"]):
        await index_repo(db, f"example.com/app{n}", scan_of([("npm", "lodash", declared)]))

    found = await services.package_index.dependents(_ecosystem("npm"), "lodash", "4.17.21", PageRequest())

    verdicts = {dependent.row.declared_range: dependent.admits for dependent in found.page.items}
    assert verdicts == {"^4.17.0": True, "workspace:*": None}
    assert (found.total, found.unevaluated) == (2, 1)
    assert {entry.declared_range: entry.admits for entry in found.ranges}[">=3 <4"] is False


async def test_python_dependents_follow_pep_503_names_and_pep_440_specifiers(
    services: Services, db: asyncpg.Connection
) -> None:
    await index_repo(db, "example.com/a", scan_of([("python", "zope-interface", ">=5,<6")], path="pyproject.toml"))
    await index_repo(db, "example.com/b", scan_of([("python", "zope-interface", "==4.*")], path="setup.cfg"))
    python = _ecosystem("python")

    found = await services.package_index.dependents(
        python, python.normalise_name("Zope.Interface"), "5.4", PageRequest()
    )

    assert [dependent.row.repo for dependent in found.page.items] == ["example.com/a"]


async def test_a_cursor_of_another_ordering_is_refused(services: Services) -> None:
    foreign = PageRequest(10, "WzFd")  # [1]: a cursor of a one-column ordering
    with pytest.raises(BadRequest, match="cursor is not one this server issued"):
        await services.package_index.dependents(_ecosystem("npm"), "lodash", None, foreign)


async def test_reindexing_a_revision_replaces_its_rows_at_once(services: Services, db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/r", scan_of([("npm", f"old-{n}", "1") for n in range(30)]), "r1")

    async def packages() -> set[str]:
        rows = await services.package_index.repo_dependencies("example.com/r", PageRequest(1000))
        return {row.data["package"] for row in rows.page.items}

    writing = db.transaction()
    await writing.start()
    try:
        await index_repo(db, "example.com/r", scan_of([("npm", f"new-{n}", "2") for n in range(20)]), "r2")
        assert await packages() == {f"old-{n}" for n in range(30)}, "nothing of the new revision before it commits"
    finally:
        await writing.commit()
    assert await packages() == {f"new-{n}" for n in range(20)}, "nothing of the old revision after"
    assert (await services.package_index.repo(ANONYMOUS, "example.com/r")).repo.indexed_revision == "r2"


async def test_queueing_a_repository_twice_queues_it_once(services: Services, db: asyncpg.Connection) -> None:
    await services.package_index.add_repo(ROOT, "github.com/acme/tool", "https://github.com/acme/tool.git", "main")
    again = await services.package_index.reindex_repo(ROOT, "github.com/acme/tool", None, "v2")

    assert again.source == "https://github.com/acme/tool.git", "the source it was queued with is remembered"
    assert await db.fetchval("SELECT count(*) FROM repo_index_queue") == 1
    state = await services.package_index.repo(ANONYMOUS, "github.com/acme/tool")
    assert state.queue is not None and state.queue.revision == "v2"


async def test_a_repository_queued_for_the_first_time_needs_a_source(services: Services) -> None:
    with pytest.raises(SourceRequired, match="source is required the first time"):
        await services.package_index.add_repo(ROOT, "github.com/acme/tool", None, None)


async def test_only_a_known_repository_is_queued_again(services: Services) -> None:
    with pytest.raises(NotFound, match=r"No repository github\.com/none/x\."):
        await services.package_index.reindex_repo(ROOT, "github.com/none/x", "https://github.com/none/x", None)


@pytest.mark.parametrize(("actor", "refusal"), [(ANONYMOUS, Unauthorized), (ALICE, Forbidden)])
async def test_only_site_admins_queue_repositories(
    services: Services, actor: Actor, refusal: type[Exception], db: asyncpg.Connection
) -> None:
    with pytest.raises(refusal):
        await services.package_index.add_repo(actor, "github.com/acme/tool", "https://github.com/acme/tool.git", None)
    assert await db.fetchval("SELECT count(*) FROM repo") == 0


async def test_the_indexers_error_is_shown_to_site_admins_only(services: Services, db: asyncpg.Connection) -> None:
    await services.package_index.add_repo(ROOT, "github.com/acme/tool", "https://github.com/acme/tool.git", None)
    await db.execute("UPDATE repo_index_queue SET last_error = 'cannot read https://github.com/acme/tool.git'")

    shown = await services.package_index.repo(ROOT, "github.com/acme/tool")
    hidden = await services.package_index.repo(ALICE, "github.com/acme/tool")

    assert shown.queue is not None and shown.queue.last_error == "cannot read https://github.com/acme/tool.git"
    assert hidden.queue is not None and hidden.queue.last_error is None


class _Counting:
    """A load that takes until released, answering which run of it this was."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.runs += 1
        run = self.runs
        await self.release.wait()
        return run


LODASH, REACT = "dependents:npm:lodash", "dependents:npm:react"


def _counts_cache() -> TtlCache[int]:
    """As the per-range counts are kept (services.build_services), with a time bound of nothing:
    every entry is old by time alone at once, and a key is its own invalidation tag."""
    return TtlCache(0, tags=lambda key, value: [str(key)], refresh_behind=True)


async def test_concurrent_misses_of_one_package_count_its_ranges_once() -> None:
    loads = _counts_cache()
    counting = _Counting()
    waiting = [asyncio.create_task(loads.get(LODASH, counting)) for _ in range(8)]
    other = asyncio.create_task(loads.get(REACT, counting))
    await asyncio.sleep(0)
    counting.release.set()
    assert await asyncio.gather(*waiting) == [1] * 8
    assert await other == 2
    assert counting.runs == 2


async def test_known_counts_are_answered_at_once_while_they_are_counted_again() -> None:
    """The cache's time bound expired, nothing changed: the last counts answer while one recount
    runs behind them, and the recount's answer the requests after it."""
    loads = _counts_cache()
    counting = _Counting()
    counting.release.set()
    assert await loads.get(LODASH, counting) == 1
    counting.release.clear()
    assert [await loads.get(LODASH, counting) for _ in range(5)] == [1] * 5
    await asyncio.sleep(0)
    assert counting.runs == 2
    counting.release.set()
    await asyncio.sleep(0.01)
    assert await loads.get(LODASH, counting) == 2


async def test_after_a_change_the_counts_before_it_are_never_answered() -> None:
    loads = _counts_cache()
    counting = _Counting()
    counting.release.set()
    assert await loads.get(LODASH, counting) == 1
    assert await loads.get(REACT, counting) == 2
    counting.release.clear()
    loads.invalidate(LODASH)
    again = asyncio.create_task(loads.get(LODASH, counting))
    await asyncio.sleep(0)
    assert not again.done()
    counting.release.set()
    assert await again == 3
    assert await loads.get(REACT, counting) == 2  # another package's counts are still known
    loads.invalidate("dependents:*")
    assert await loads.get(REACT, counting) == 5


async def test_a_request_after_a_change_never_shares_a_count_begun_before_it() -> None:
    loads = _counts_cache()
    counting = _Counting()
    before = asyncio.create_task(loads.get(LODASH, counting))
    await asyncio.sleep(0)
    loads.invalidate(LODASH)
    after = asyncio.create_task(loads.get(LODASH, counting))
    await asyncio.sleep(0)
    counting.release.set()
    assert (await before, await after) == (1, 2)
    counting.release.clear()
    assert await loads.get(LODASH, counting) == 2  # the count begun before the change was not kept


async def test_a_client_that_just_wrote_counts_for_itself() -> None:
    loads = _counts_cache()
    counting = _Counting()
    shared = asyncio.create_task(loads.get(LODASH, counting))
    await asyncio.sleep(0)
    token = CURRENT_FLOOR.set(ReadFloor(floor=1))
    try:
        own = asyncio.create_task(loads.get(LODASH, counting))
    finally:
        CURRENT_FLOOR.reset(token)
    await asyncio.sleep(0)
    counting.release.set()
    assert (await shared, await own) == (1, 2)
