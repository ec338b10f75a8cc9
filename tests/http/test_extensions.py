"""Extensions: creation under a publisher, reads by id and UUID, deletion, batch reads, listing."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import make_org, make_user
from tests.support.paging import every_item
from tests.support.registry import manifest, publish

Client = TestClient[web.Request, web.Application]


async def test_an_extension_is_created_once_per_publisher_and_name(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await make_org(db, "acme", [alice])
    for publisher in ("alice", "acme"):
        response = await client.post(
            "/api/extensions", json={"publisher": publisher, "name": "wc"}, headers=alice.headers
        )
        assert response.status == 201
        assert (await response.json())["publisher"]["kind"] == ("user" if publisher == "alice" else "org")
    again = await client.post("/api/extensions", json={"publisher": "ALICE", "name": "WC"}, headers=alice.headers)
    assert again.status == 409
    assert (
        await client.post("/api/extensions", json={"publisher": "nobody", "name": "wc"}, headers=alice.headers)
    ).status == 404


@pytest.mark.parametrize("name", ["-wc", "w..c", "wc.", "a" * 129, "w c", "w/c"])
async def test_extension_names_follow_the_tables_rules(client: Client, db: asyncpg.Connection, name: str) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/extensions", json={"publisher": "alice", "name": name}, headers=alice.headers)
    assert response.status == 422
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0


async def test_an_extension_is_read_by_id_and_by_uuid(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    by_id = await (await client.get("/api/extensions/Alice/WC")).json()
    by_uuid = await (await client.get(f"/api/extensions/-/uuid/{by_id['uuid']}")).json()
    assert by_uuid["extension_id"] == by_id["extension_id"] == "alice/wc"
    assert (await client.get("/api/extensions/-/uuid/not-a-uuid")).status == 404
    assert (await client.get("/api/extensions/-/uuid/00000000-0000-0000-0000-000000000000")).status == 404


async def test_deleting_frees_the_name_but_not_its_versions(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    first = await publish(client, alice.headers, "alice/wc", "1.0.0")
    assert (await client.delete("/api/extensions/alice/wc", headers=alice.headers)).status == 204
    assert (await client.get("/api/extensions/alice/wc")).status == 404
    await publish(client, alice.headers, "alice/wc", "1.0.0", expect=409)
    second = await publish(client, alice.headers, "alice/wc", "1.0.1")
    assert second["id"] != first["id"]


async def test_extensions_of_a_deleted_publisher_disappear(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await db.execute("UPDATE users SET deleted_at = now() WHERE id = $1", alice.id)
    assert (await client.get("/api/extensions/alice/wc")).status == 404
    assert (await (await client.get("/api/extensions")).json())["items"] == []


async def test_a_batch_reads_many_extensions_at_once(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for name in ("a", "b", "c"):
        await publish(client, alice.headers, f"alice/{name}", "1.0.0")
    response = await client.post("/api/extensions/-/batch", json={"ids": ["alice/c", "alice/A", "alice/zzz", "bob/a"]})
    body = await response.json()
    assert [e["extension_id"] for e in body["items"]] == ["alice/c", "alice/a"]
    assert body["missing"] == ["alice/zzz", "bob/a"]
    assert (await client.post("/api/extensions/-/batch", json={"ids": ["no-slash"]})).status == 422
    assert (await client.post("/api/extensions/-/batch", json={"ids": ["a/b"] * 1001})).status == 422


async def _catalogue(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    entries: list[tuple[Any, str, dict[str, Any]]] = [
        (
            alice,
            "alice/word-count",
            manifest(title="Word count", description="Counts words", tags=["words"], categories=["Other"]),
        ),
        (
            alice,
            "alice/line-count",
            manifest(title="Line count", description="Counts lines", categories=["Reports and stats"]),
        ),
        (
            bob,
            "bob/codecov",
            manifest(title="Codecov", description="Coverage in the editor", categories=["External services"]),
        ),
        (bob, "bob/draft", manifest(title="WIP: draft", description="Not ready")),
        (bob, "bob/spell", manifest(title="Spell check", description="Finds misspelled words", tags=["words", "lint"])),
    ]
    for user, extension_id, fields in entries:
        await publish(client, user.headers, extension_id, "1.0.0", manifest=fields)


async def _ids(client: Client, query: str) -> list[str]:
    response = await client.get(f"/api/extensions?{query}")
    assert response.status == 200, await response.text()
    return [item["extension_id"] for item in (await response.json())["items"]]


async def test_listing_filters_and_sorts(client: Client, db: asyncpg.Connection) -> None:
    await _catalogue(client, db)
    assert await _ids(client, "") == ["bob/codecov", "alice/line-count", "bob/spell", "alice/word-count"]
    assert "bob/draft" in await _ids(client, "include_wip=true")
    assert await _ids(client, "publisher=alice") == ["alice/line-count", "alice/word-count"]
    assert await _ids(client, "category=External+services") == ["bob/codecov"]
    assert await _ids(client, "tag=words") == ["bob/spell", "alice/word-count"]
    assert (await _ids(client, "sort=updated"))[:1] == ["bob/spell"]


async def test_search_matches_names_titles_descriptions_and_tags_ranked(client: Client, db: asyncpg.Connection) -> None:
    await _catalogue(client, db)
    found = await _ids(client, "q=words")
    assert set(found) == {"alice/word-count", "bob/spell"}
    assert await _ids(client, "q=coverage") == ["bob/codecov"]
    assert (await _ids(client, "q=COUNT"))[:2] in (
        ["alice/line-count", "alice/word-count"],
        ["alice/word-count", "alice/line-count"],
    )
    assert await _ids(client, "q=%25") == [], "LIKE wildcards in q are literal"
    assert await _ids(client, "q=zzzz") == []


async def test_listing_pages_are_stable_under_concurrent_inserts(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for n in range(7):
        await publish(client, alice.headers, f"alice/ext{n:02}", "1.0.0")
    first = await (await client.get("/api/extensions?limit=3")).json()
    await publish(client, alice.headers, "alice/ext00a", "1.0.0")  # sorts into the page already read
    seen = [e["extension_id"] for e in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await (await client.get(f"/api/extensions?limit=3&cursor={cursor}")).json()
        seen += [e["extension_id"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"alice/ext{n:02}" for n in range(7)], "no duplicates, no skips"


@pytest.mark.parametrize("sort", ["updated", "downloads"])
async def test_every_sort_pages_through_everything(client: Client, db: asyncpg.Connection, sort: str) -> None:
    alice = await make_user(db, "alice")
    await asyncio.gather(*(publish(client, alice.headers, f"alice/e{n}", "1.0.0") for n in range(5)))
    seen = [e["extension_id"] for e in await every_item(client, f"/api/extensions?sort={sort}")]
    assert sorted(seen) == sorted(f"alice/e{n}" for n in range(5))
    assert len(seen) == 5


@pytest.mark.parametrize(
    "query", ["sort=popular", "sort=relevance", "include_wip=maybe", "limit=0", "cursor=WyJ4Il0", "q=" + "x" * 300]
)
async def test_bad_listing_parameters_are_400(client: Client, query: str) -> None:
    assert (await client.get(f"/api/extensions?{query}")).status == 400


async def test_a_cursor_from_another_sort_is_refused(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for n in range(3):
        await publish(client, alice.headers, f"alice/e{n}", "1.0.0")
    cursor = (await (await client.get("/api/extensions?limit=1")).json())["next_cursor"]
    assert (await client.get(f"/api/extensions?sort=downloads&cursor={cursor}")).status == 400


async def test_release_lists_page_in_semver_order(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for version in ("1.0.0", "1.10.0", "1.2.0", "1.9.0"):
        await publish(client, alice.headers, "alice/wc", version)
    first = await (await client.get("/api/extensions/alice/wc/releases?limit=3")).json()
    second = await (await client.get(f"/api/extensions/alice/wc/releases?limit=3&cursor={first['next_cursor']}")).json()
    assert [r["version"] for r in first["items"] + second["items"]] == ["1.10.0", "1.9.0", "1.2.0", "1.0.0"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("sort", ["name", "updated", "downloads", "relevance"])
async def test_search_text_combines_with_every_sort(client: Client, db: asyncpg.Connection, sort: str) -> None:
    alice = await make_user(db, "alice")
    for n in range(3):
        await publish(client, alice.headers, f"alice/ext{n}", "1.0.0")
    first = await (await client.get(f"/api/extensions?q=ext&sort={sort}&limit=2")).json()
    second = await (await client.get(f"/api/extensions?q=ext&sort={sort}&limit=2&cursor={first['next_cursor']}")).json()
    seen = [e["extension_id"] for e in first["items"] + second["items"]]
    assert sorted(seen) == ["alice/ext0", "alice/ext1", "alice/ext2"]
