"""The writer: atomic replacement, no-op re-index, and readers that never see a mix."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg

from indexer.writer import RepoIndex, write_batch, write_index
from registry.ecosystems.base import ResolvedDependency
from registry.store import package_index as index_store
from tests.support.index import index_repo, scan_of


async def _rows(db: asyncpg.Connection, uri: str) -> list[tuple[str, str]]:
    rows = await db.fetch(
        "SELECT g.dep_data->>'package' AS p, g.dep_data->>'version' AS v FROM global_dep g"
        " JOIN repo r ON r.id = g.repo_id WHERE r.uri = $1 ORDER BY 1",
        uri,
    )
    return [(row["p"], row["v"]) for row in rows]


async def test_writing_replaces_a_repositorys_rows_and_records_the_revision(db: asyncpg.Connection) -> None:
    first = await index_repo(db, "example.com/a", scan_of([("npm", "lodash", "^4"), ("npm", "react", "^18")]), "r1")
    assert (first.written, first.dependencies) == (True, 2)
    second = await index_repo(db, "example.com/a", scan_of([("npm", "lodash", "^5")], [("npm", "a", "1.0.0")]), "r2")
    assert second.repo_id == first.repo_id
    assert await _rows(db, "example.com/a") == [("lodash", "^5")]
    assert await db.fetchval("SELECT indexed_revision FROM repo WHERE id = $1", first.repo_id) == "r2"
    assert await db.fetchval("SELECT pkg->>'name' FROM pkgs WHERE repo_id = $1", first.repo_id) == "a"


async def test_reindexing_the_same_revision_changes_nothing(db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/a", scan_of([("npm", "lodash", "^4")]), "r1")
    again = await index_repo(db, "example.com/a", scan_of([("npm", "other", "1")]), "r1")
    assert again.written is False
    assert await _rows(db, "example.com/a") == [("lodash", "^4")]


async def _repo_writes(db: asyncpg.Connection, batch: list[RepoIndex]) -> tuple[int, int]:
    """(rows inserted into `repo`, row versions updated) by one write_batch: the difference of its
    transaction's counts before and after it."""
    query = "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'repo'"
    async with db.transaction():
        before = await db.fetchrow(query)
        await write_batch(db, batch, ["npm"])
        after = await db.fetchrow(query)
    assert before is not None and after is not None
    return after["n_tup_ins"] - before["n_tup_ins"], after["n_tup_upd"] - before["n_tup_upd"]


async def test_a_new_repository_is_created_with_its_revision_in_one_row_version(db: asyncpg.Connection) -> None:
    scan = scan_of([("npm", "lodash", "^4")])
    fresh = [RepoIndex("example.com/a", "r1", scan), RepoIndex("example.com/B", "r1", scan)]
    assert await _repo_writes(db, fresh) == (2, 0), "created, not created and then updated"
    rows = await db.fetch(
        "SELECT uri::text, indexed_revision, updated_at IS NOT NULL AS u FROM repo ORDER BY lower(uri::text)"
    )
    assert [tuple(row) for row in rows] == [("example.com/a", "r1", True), ("example.com/B", "r1", True)]
    again = [RepoIndex("EXAMPLE.com/a", "r2", scan), RepoIndex("example.com/c", "r1", scan)]
    assert await _repo_writes(db, again) == (1, 1), "a known repository (any case) is updated, a new one created"
    assert await db.fetchval("SELECT indexed_revision FROM repo WHERE uri = 'example.com/a'") == "r2"
    twice = [RepoIndex("example.com/d", "r1", scan), RepoIndex("EXAMPLE.COM/D", "r2", scan)]
    await _repo_writes(db, twice)
    assert await db.fetchval("SELECT indexed_revision FROM repo WHERE uri = 'example.com/d'") == "r2", (
        "a repository twice in a batch records the revision written last"
    )
    assert await db.fetchval("SELECT count(*) FROM repo") == 4


async def test_only_the_indexed_languages_are_replaced(db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/a", scan_of([("npm", "lodash", "^4"), ("go", "golang.org/x/net", "v0.1.0")]))
    await write_index(db, "example.com/a", None, scan_of([("npm", "lodash", "^5")]), ["npm"])
    assert await _rows(db, "example.com/a") == [("golang.org/x/net", "v0.1.0"), ("lodash", "^5")]


async def test_readers_see_the_old_or_the_new_index_never_a_mix(fresh_db_url: str) -> None:
    old = scan_of([("npm", f"old-{n}", "1") for n in range(300)])
    new = scan_of([("npm", f"new-{n}", "2") for n in range(200)])
    writer = await asyncpg.connect(fresh_db_url)
    reader = await asyncpg.connect(fresh_db_url)
    await index_repo(writer, "example.com/r", old, "0")
    seen: set[int] = set()
    stop = asyncio.Event()

    async def write() -> None:
        for revision in range(1, 30):
            await index_repo(writer, "example.com/r", new if revision % 2 else old, str(revision))
        stop.set()

    async def read() -> None:
        while not stop.is_set():
            rows = await reader.fetch(
                "SELECT dep_data->>'package' AS p FROM global_dep g JOIN repo r ON r.id = g.repo_id"
                " WHERE r.uri = 'example.com/r'"
            )
            kinds = {row["p"].split("-")[0] for row in rows}
            assert len(kinds) == 1, "a read saw two indexes at once"
            seen.add(len(rows))

    try:
        await asyncio.gather(write(), read())
    finally:
        await writer.close()
        await reader.close()
    assert seen == {300, 200}


async def test_names_and_ranges_come_back_as_written_whatever_characters_they_hold(db: asyncpg.Connection) -> None:
    """Rows reach the tables in COPY's text format, where a backslash, tab or newline means
    something: in a name or a range they are data like any other character."""
    odd = ["back\\slash", 'quo"te', "tab\there", "new\nline", "cr\rhere", "ünïcødé", "\\N", "\\\\t"]
    await index_repo(db, "example.com/odd", scan_of([("npm", name, name) for name in odd]))
    assert await _rows(db, "example.com/odd") == sorted((name, name) for name in odd)


async def test_json_text_with_raw_whitespace_is_copied_as_the_json_it_is(db: asyncpg.Connection) -> None:
    """JSON text may hold raw tabs and newlines between its tokens (orjson's never does): the rows
    are then escaped field by field rather than in one pass."""
    repo_id = await index_store.ensure_repo(db, "example.com/spaced")
    async with db.transaction():
        await index_store.copy_dependencies(
            db, [(repo_id, "npm", '{\n\t"package": "left\\\\pad",\r\n"version": "^1"}', '{"path": "a\\tb"}')]
        )
        await index_store.copy_packages(db, [(repo_id, "npm", '{"name":\t"x"}')])
    assert await _rows(db, "example.com/spaced") == [("left\\pad", "^1")]
    assert await db.fetchval("SELECT hints->>'path' FROM global_dep WHERE repo_id = $1", repo_id) == "a\tb"
    assert await db.fetchval("SELECT pkg->>'name' FROM pkgs WHERE repo_id = $1", repo_id) == "x"


async def test_a_write_announces_the_packages_whose_dependents_changed(db: asyncpg.Connection) -> None:
    """Every node's cached per-range counts hear of the write (migration 10's triggers fire for the
    writer's COPY as for any statement): the packages it removed and the ones it added."""
    await index_repo(db, "example.com/a", scan_of([("npm", "lodash", "^4")]), "r1")
    async with db.transaction():
        await index_repo(db, "example.com/a", scan_of([("npm", "react", "^18")]), "r2")
        announced = await db.fetchval("SELECT current_setting('wharf.invalidations', true)")
    assert set(announced.split()) == {"dependents:npm:lodash", "dependents:npm:react"}


async def _ids(db: asyncpg.Connection, uri: str) -> dict[tuple[str, str], list[int]]:
    rows = await db.fetch(
        "SELECT g.id, g.dep_data->>'package' AS p, g.dep_data->>'version' AS v FROM global_dep g"
        " JOIN repo r ON r.id = g.repo_id WHERE r.uri = $1 ORDER BY g.id",
        uri,
    )
    ids: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        ids.setdefault((row["p"], row["v"]), []).append(row["id"])
    return ids


async def test_a_reindex_rewrites_only_the_rows_that_changed(db: asyncpg.Connection) -> None:
    """A new revision usually changes few dependencies: the rows it still has stay as they are
    (same ids), so their indexes are not touched, and only what changed is announced."""
    await index_repo(
        db, "example.com/a", scan_of([("npm", "lodash", "^4"), ("npm", "react", "^18"), ("npm", "vue", "3")]), "r1"
    )
    before = await _ids(db, "example.com/a")
    async with db.transaction():
        await index_repo(
            db, "example.com/a", scan_of([("npm", "lodash", "^4"), ("npm", "react", "^19"), ("npm", "vue", "3")]), "r2"
        )
        announced = await db.fetchval("SELECT current_setting('wharf.invalidations', true)")
    after = await _ids(db, "example.com/a")
    assert set(after) == {("lodash", "^4"), ("react", "^19"), ("vue", "3")}
    assert after[("lodash", "^4")] == before[("lodash", "^4")] and after[("vue", "3")] == before[("vue", "3")]
    assert after[("react", "^19")][0] > max(i for ids in before.values() for i in ids)
    assert set(announced.split()) == {"dependents:npm:react"}


async def test_a_reindex_compares_rows_as_a_multiset_and_by_their_hints(db: asyncpg.Connection) -> None:
    """Two equal rows (a package declared twice in one manifest) are two rows: a revision with one
    of them keeps one. A row whose hints changed (here its manifest's path) is a changed row."""
    twice = scan_of([("npm", "lodash", "^4"), ("npm", "lodash", "^4"), ("npm", "react", "^18")])
    await index_repo(db, "example.com/a", twice, "r1")
    before = await _ids(db, "example.com/a")
    assert len(before[("lodash", "^4")]) == 2
    once = scan_of([("npm", "lodash", "^4")])
    once.dependencies += scan_of([("npm", "react", "^18")], path="web/package.json").dependencies
    await index_repo(db, "example.com/a", once, "r2")
    after = await _ids(db, "example.com/a")
    assert len(after[("lodash", "^4")]) == 1 and after[("lodash", "^4")][0] in before[("lodash", "^4")]
    assert after[("react", "^18")] != before[("react", "^18")]
    paths = await db.fetch("SELECT hints->>'path' AS path FROM global_dep ORDER BY 1")
    assert [row["path"] for row in paths] == ["package.json", "web/package.json"]
    await index_repo(db, "example.com/a", twice, "r3")
    assert len((await _ids(db, "example.com/a"))[("lodash", "^4")]) == 2


async def test_rows_found_with_json_that_cannot_be_compared_exactly_are_rewritten(db: asyncpg.Connection) -> None:
    """Rows written by something else than this writer are compared as orjson reads them; a number
    orjson would read inexactly (a fraction, an integer past 64 bits) makes its row one to
    rewrite rather than one that might be kept with digits the new revision does not have."""
    repo_id = await index_store.ensure_repo(db, "example.com/a")
    await db.execute(
        "INSERT INTO global_dep (repo_id, language, dep_data, hints) VALUES"
        ' ($1, \'npm\', \'{"package": "a", "version": "1", "depType": "dependencies"}\','
        '  \'{"path": "package.json", "n": 100000000000000000000000000001}\'),'
        ' ($1, \'npm\', \'{"package": "b", "version": "1", "depType": "dependencies"}\', NULL),'
        ' ($1, \'npm\', \'{"package": "c", "version": "1", "depType": "dependencies"}\','
        '  \'{"path": "package.json"}\')',
        repo_id,
    )
    before = await _ids(db, "example.com/a")
    hinted = scan_of([("npm", "a", "1"), ("npm", "b", "1"), ("npm", "c", "1")])
    hinted.dependencies[0] = ("npm", dataclasses.replace(hinted.dependencies[0][1], hints={"n": 1e29}))
    await index_repo(db, "example.com/a", hinted, "r1")
    after = await _ids(db, "example.com/a")
    assert after[("c", "1")] == before[("c", "1")]
    assert after[("a", "1")] != before[("a", "1")] and after[("b", "1")] != before[("b", "1")]
    assert await db.fetchval("SELECT hints->>'n' FROM global_dep WHERE dep_data->>'package' = 'a'") == str(10**29)


async def test_packages_are_rewritten_only_where_they_changed(db: asyncpg.Connection) -> None:
    await index_repo(db, "example.com/a", scan_of([], [("npm", "a", "1.0.0"), ("npm", "b", "2.0.0")]), "r1")
    before = dict(await db.fetch("SELECT pkg->>'name', id FROM pkgs"))
    await index_repo(db, "example.com/a", scan_of([], [("npm", "a", "1.0.0"), ("npm", "b", "2.1.0")]), "r2")
    after = {
        row["name"]: (row["id"], row["version"])
        for row in await db.fetch("SELECT pkg->>'name' AS name, pkg->>'version' AS version, id FROM pkgs")
    }
    assert after["a"] == (before["a"], "1.0.0")
    assert after["b"][0] != before["b"] and after["b"][1] == "2.1.0"


def _resolved(package: str, version: str, depth: int = 1, parents: tuple[str, ...] = ()) -> ResolvedDependency:
    return ResolvedDependency(package, version, depth == 1, depth, parents, False, False, "package-lock.json")


async def _resolved_rows(db: asyncpg.Connection, uri: str) -> list[tuple[str, str, int, list[str], list[str]]]:
    rows = await db.fetch(
        "SELECT d.package, d.version, d.depth, d.parents, d.via FROM resolved_dep d"
        " JOIN repo r ON r.id = d.repo_id WHERE r.uri = $1 ORDER BY 1, 2",
        uri,
    )
    return [(row["package"], row["version"], row["depth"], list(row["parents"]), list(row["via"])) for row in rows]


async def test_resolved_versions_are_replaced_with_the_rest_of_a_revision(db: asyncpg.Connection) -> None:
    first = scan_of([("npm", "express", "^4")])
    first.resolved = [
        ("npm", _resolved("express", "4.18.2")),
        ("npm", _resolved("qs", "6.11.0", 2, ("express@4.18.2",))),
    ]
    await index_repo(db, "example.com/a", first, "r1")
    assert await _resolved_rows(db, "example.com/a") == [
        ("express", "4.18.2", 1, [], []),
        ("qs", "6.11.0", 2, ["express@4.18.2"], []),
    ]
    second = scan_of([("npm", "express", "^5")])
    second.resolved = [("npm", _resolved("express", "5.0.0"))]
    outcome = await index_repo(db, "example.com/a", second, "r2")
    assert (outcome.dependencies, outcome.resolved) == (1, 1)
    assert await _resolved_rows(db, "example.com/a") == [("express", "5.0.0", 1, [], [])]


async def test_resolved_paths_and_parents_hold_any_characters(db: asyncpg.Connection) -> None:
    """Parents and paths travel as array literals inside COPY's text format: quotes, backslashes,
    braces, commas and tabs in a name are data."""
    odd = 'we"ird\\na,me{}\t@1'
    scan = scan_of()
    scan.resolved = [
        ("npm", ResolvedDependency("leaf", "1.0.0", False, 3, (odd,), False, False, "a\\b.json", via=("top@1", odd)))
    ]
    await index_repo(db, "example.com/odd", scan)
    assert await _resolved_rows(db, "example.com/odd") == [("leaf", "1.0.0", 3, [odd], ["top@1", odd])]
