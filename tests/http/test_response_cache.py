"""Extension metadata, listings and unknown extensions' 404s are answered from memory
(registry.response_cache), and every change to what they show changes the next answer: at once on
the node that wrote it, within the invalidation bound on another node (a second app on the same
database), and at once for a client that has just written, wherever it reads.

A reader here carries no read floor (its cookie jar is emptied after each write), so that what it
reads comes from the cache when the cache holds it: a read floor would send it to the database.
That a read was answered from memory shows by a change no trigger announces (the download counter's
column, migration 10): the cached answer does not show it.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from registry import appkeys
from registry.config import Config
from registry.response_cache import LISTING, Absent, CachedBody, ResponseCache
from tests.conftest import AppFactory, ClientWith
from tests.support.eventually import eventually
from tests.support.factories import UserFixture, make_user
from tests.support.registry import SOURCE_MAP, bundle_for, manifest, publish

Client = TestClient[web.Request, web.Application]
SOURCEGRAPH = {"Accept": "application/vnd.sourcegraph.api+json;version=20180621"}
METADATA = "/api/extensions/alice/wc"
SG_METADATA = "/.api/registry/extensions/extension-id/alice/wc"


@pytest.fixture
async def node_b(make_client: AppFactory, config: Config) -> Client:
    return await make_client(config)


async def _json(client: Client, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    response = await client.get(path, headers=headers)
    body = await response.json(content_type=None)
    return response.status, body


async def _forget_writes(*clients: Client) -> None:
    """Empty the clients' cookie jars: their next reads carry no read floor and may be cached."""
    for client in clients:
        client.session.cookie_jar.clear()


async def _settled(db: asyncpg.Connection, *nodes: Client) -> None:
    """Wait until each node's listener has heard every change committed so far (notifications
    arrive in commit order: a marker sent now arrives after them), so that a late one does not
    drop what the test has just had cached. The writing node applies its own at once, and hears
    them again from its listener."""
    for node in nodes:
        invalidations = node.app[appkeys.DATABASE].invalidations
        heard = invalidations.counts["other"]
        await db.execute("SELECT pg_notify('wharf_cache', 'test-marker:settled')")

        async def marker_heard(invalidations: Any = invalidations, heard: int = heard) -> bool:
            return bool(invalidations.counts["other"] > heard)

        await eventually(marker_heard, "the node's listener hears what was committed")


async def _write(client: Client, method: str, path: str, **kwargs: Any) -> ClientResponse:
    response = await client.request(method, path, **kwargs)
    assert response.status < 300, await response.text()
    await _forget_writes(client)
    return response


async def _silently_count_downloads(db: asyncpg.Connection, count: int) -> None:
    """What a download flush does: a change to `downloads` alone, which announces nothing."""
    await db.execute("UPDATE registry_extensions SET downloads = $1", count)


async def _latest(client: Client, path: str = METADATA) -> str | None:
    status, body = await _json(client, path)
    assert status == 200, body
    latest = body["latest_release"]
    return None if latest is None else str(latest["version"])


async def test_metadata_is_answered_from_memory_with_a_strong_etag_and_304(
    client: Client, alice: UserFixture, db: asyncpg.Connection
) -> None:
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await _forget_writes(client)
    await _settled(db, client)
    first = await client.get(METADATA)
    etag = first.headers["ETag"]
    assert first.status == 200 and etag.startswith('"') and etag.endswith('"')
    await _silently_count_downloads(db, 7)
    second = await client.get(METADATA)
    assert (await second.read(), second.headers["ETag"]) == (await first.read(), etag), "the same bytes, from memory"
    assert (await second.json())["downloads"] == 0

    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        revalidated = await client.get(METADATA, headers={"If-None-Match": if_none_match})
        assert revalidated.status == 304, if_none_match
        assert await revalidated.read() == b"" and revalidated.headers["ETag"] == etag
    assert (await client.get(METADATA, headers={"If-None-Match": '"other"'})).status == 200


async def test_a_publish_an_edit_a_yank_a_rename_and_a_delete_show_at_once_on_the_writing_node(
    client: Client, alice: UserFixture
) -> None:
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await _forget_writes(client)
    assert await _latest(client) == "1.0.0"
    etag = (await client.get(METADATA)).headers["ETag"]

    await publish(client, alice.headers, "alice/wc", "1.1.0", manifest=manifest(title="Words counted"))
    await _forget_writes(client)
    status, body = await _json(client, METADATA)
    assert (body["latest_release"]["version"], body["title"]) == ("1.1.0", "Words counted")
    assert (await client.get(METADATA, headers={"If-None-Match": etag})).status == 200, "the old ETag is stale"

    await _write(client, "DELETE", "/api/extensions/alice/wc/releases/1.1.0", headers=alice.headers)
    assert await _latest(client) == "1.0.0", "a yanked release is no longer the latest"

    await _write(client, "PATCH", "/api/users/alice", json={"username": "alicia"}, headers=alice.headers)
    moved = await client.get(METADATA, allow_redirects=False)
    assert moved.status == 308 and moved.headers["Location"] == "/api/extensions/alicia/wc"
    status, body = await _json(client, "/api/extensions/alicia/wc")
    assert (status, body["publisher"]["name"]) == (200, "alicia")

    await _write(client, "DELETE", "/api/extensions/alicia/wc", headers=alice.headers)
    assert (await client.get("/api/extensions/alicia/wc")).status == 404


async def test_each_change_reaches_another_node_within_the_invalidation_bound(
    client: Client, node_b: Client, alice: UserFixture
) -> None:
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    assert await _latest(node_b) == "1.0.0", "node B keeps this answer"

    async def on_b(check: Any, what: str) -> None:
        async def holds() -> bool:
            return bool(await check())

        await eventually(holds, f"node B: {what}")

    await publish(client, alice.headers, "alice/wc", "1.1.0", manifest=manifest(description="Now faster."))

    async def published() -> bool:
        _, body = await _json(node_b, METADATA)
        return bool(body["latest_release"]["version"] == "1.1.0" and body["description"] == "Now faster.")

    await on_b(published, "the publish and its listing fields")
    await client.delete("/api/extensions/alice/wc/releases/1.1.0", headers=alice.headers)
    await on_b(lambda: _is(node_b, METADATA, "1.0.0"), "the yank")
    await client.patch("/api/users/alice", json={"username": "alicia"}, headers=alice.headers)
    await on_b(lambda: _status(node_b, "/api/extensions/alicia/wc", 200), "the rename (new name)")
    await on_b(lambda: _status(node_b, METADATA, 308), "the rename (old name redirects)")
    await client.delete("/api/extensions/alicia/wc", headers=alice.headers)
    await on_b(lambda: _status(node_b, "/api/extensions/alicia/wc", 404), "the delete")


async def _is(client: Client, path: str, version: str) -> bool:
    return await _latest(client, path) == version


async def _status(client: Client, path: str, status: int) -> bool:
    headers = SOURCEGRAPH if path.startswith("/.api/") else {}
    return (await client.get(path, allow_redirects=False, headers=headers)).status == status


async def test_an_unknown_extension_is_remembered_until_that_name_is_published_on_any_node(
    client: Client, node_b: Client, alice: UserFixture, db: asyncpg.Connection
) -> None:
    await _settled(db, client, node_b)
    for node in (client, node_b):
        status, problem = await _json(node, METADATA)
        assert (status, problem["detail"]) == (404, "No extension alice/wc.")
        assert problem["request_id"], "the problem is rendered per request"
        status, _ = await _json(node, SG_METADATA, SOURCEGRAPH)
        assert status == 404
    assert len(node_b.app[appkeys.RESPONSES]) == 2, "node B keeps both answers' absence"

    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await _forget_writes(client)
    assert await _latest(client) == "1.0.0", "at once on the publishing node"
    await eventually(lambda: _status(node_b, METADATA, 200), "the publish reaches node B's negative entry")
    await eventually(lambda: _status(node_b, SG_METADATA, 200), "and Sourcegraph's form of it")


async def test_creating_an_extension_or_its_publisher_ends_a_remembered_404(
    client: Client, node_b: Client, db: asyncpg.Connection
) -> None:
    assert (await node_b.get("/api/extensions/carol/wc")).status == 404
    assert (await node_b.get("/api/extensions/carol/other")).status == 404
    carol = await make_user(db, "carol")  # the publisher comes to exist (by hand: announced by its trigger)
    created = await client.post("/api/extensions", json={"publisher": "carol", "name": "wc"}, headers=carol.headers)
    assert created.status == 201
    await eventually(lambda: _status(node_b, "/api/extensions/carol/wc", 200), "an extension created without release")
    await db.execute(
        "INSERT INTO registry_extensions (uuid, publisher_user_id, name) VALUES (gen_random_uuid(), $1, 'Other')",
        carol.id,
    )  # a script, not the API
    await eventually(lambda: _status(node_b, "/api/extensions/carol/other", 200), "an insert by hand, any case")


async def test_listings_change_with_any_extension_on_every_node(
    client: Client, node_b: Client, alice: UserFixture, db: asyncpg.Connection
) -> None:
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await _forget_writes(client)
    await _settled(db, client, node_b)

    async def names(node: Client, path: str = "/api/extensions?sort=name") -> list[str]:
        status, body = await _json(node, path)
        assert status == 200, body
        return [item["name"] for item in body["items"]]

    async def sourcegraph_names(node: Client) -> list[str]:
        status, body = await _json(node, "/.api/registry/extensions?q=", SOURCEGRAPH)
        assert status == 200, body
        return [item["name"] for item in body]

    assert await names(client) == await names(node_b) == ["wc"]
    assert await sourcegraph_names(node_b) == ["wc"]
    await _silently_count_downloads(db, 3)
    assert (await _json(client, "/api/extensions?sort=name"))[1]["items"][0]["downloads"] == 0, "from memory"

    await publish(client, alice.headers, "alice/lines", "1.0.0", manifest=manifest(title="Lines"))
    await _forget_writes(client)
    assert await names(client) == ["lines", "wc"], "at once on the writing node"

    async def both_listed() -> bool:
        return await names(node_b) == ["lines", "wc"] and await sourcegraph_names(node_b) == ["lines", "wc"]

    await eventually(both_listed, "node B lists the new extension")
    assert await names(client, "/api/extensions?q=lines") == ["lines"], "a search is its own entry"


async def test_every_actor_is_answered_the_same_bytes(
    client: Client, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    """Nothing these routes answer depends on who asks (no extension is private; work in progress
    is shown by a query parameter, not by the actor), so the cache keys on what is asked alone."""
    await publish(client, alice.headers, "alice/wc", "1.0.0", manifest=manifest(wip=True))
    await _forget_writes(client)
    actors = [alice.headers, {}, bob.headers, admin.headers, {"Authorization": "token not-a-token"}]
    for path, headers in (
        (METADATA, {}),
        ("/api/extensions?include_wip=true", {}),
        ("/api/extensions", {}),
        (SG_METADATA, SOURCEGRAPH),
        ("/.api/registry/extensions", SOURCEGRAPH),
    ):
        answers = set()
        for actor in actors:
            response = await client.get(path, headers={**headers, **actor})
            if actor.get("Authorization") == "token not-a-token":
                assert response.status == 401, "a bad credential is refused before any cache is asked"
                continue
            answers.add((response.status, await response.read()))
        assert len(answers) == 1, path


async def test_a_client_that_has_just_written_reads_its_write_on_a_node_that_has_not_heard_of_it(
    client: Client, node_b: Client, alice: UserFixture, db: asyncpg.Connection
) -> None:
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await _settled(db, node_b)
    assert (await node_b.get(METADATA)).status == 200
    assert (await node_b.get("/api/extensions/alice/other")).status == 404, "node B remembers it is absent"
    deaf = node_b.app[appkeys.RESPONSES]
    node_b.app[appkeys.DATABASE].invalidations._caches.remove(deaf)  # node B hears of nothing from now on
    body = {"extension_id": "alice/other", "manifest": manifest(), "version": "1.0.0"}
    body |= {"bundle": bundle_for("1.0.0"), "source_map": SOURCE_MAP}
    published = await client.post("/api/publish", json=body, headers=alice.headers)
    assert published.status == 201, await published.text()

    assert (await node_b.get("/api/extensions/alice/other")).status == 404, "node B's stale memory"
    floor = {"Wharf-Read-After": published.headers["Wharf-LSN"]}
    assert (await node_b.get("/api/extensions/alice/other", headers=floor)).status == 200, "the writer sees its write"
    cookie = {"Cookie": f"wharf_lsn={published.headers['Wharf-LSN']}"}
    assert (await node_b.get("/api/extensions?sort=name", headers=cookie)).status == 200
    _, listed = await _json(node_b, "/api/extensions?sort=name", cookie)
    assert [item["name"] for item in listed["items"]] == ["other", "wc"]


async def test_download_counts_are_at_most_one_flush_interval_behind(
    client_with: ClientWith, alice: UserFixture, db: asyncpg.Connection
) -> None:
    """An entry lives at most WHARF_DOWNLOADS_FLUSH_SECONDS: a flush announces nothing, so until an
    entry expires its counts are those it was read with."""
    slow = await client_with(downloads_flush_seconds=3600)
    await publish(slow, alice.headers, "alice/wc", "1.0.0")
    await _forget_writes(slow)
    await _settled(db, slow)
    assert (await _json(slow, METADATA))[1]["downloads"] == 0
    await _silently_count_downloads(db, 5)
    assert (await _json(slow, METADATA))[1]["downloads"] == 0, "within the interval: the cached count"

    fast = await client_with(downloads_flush_seconds=0.2)
    assert (await _json(fast, METADATA))[1]["downloads"] == 5
    await _silently_count_downloads(db, 6)

    async def caught_up() -> bool:
        return bool((await _json(fast, METADATA))[1]["downloads"] == 6)

    await eventually(caught_up, "the count, once the entry has lived its interval")


async def test_the_cache_is_bounded_in_bytes_and_in_entries() -> None:
    cache = ResponseCache(60, max_bytes=10_000, max_entries=5)

    async def keep(key: str, size: int) -> None:
        async def load() -> CachedBody:
            return CachedBody(b"x" * size, '"e"', (LISTING,))

        await cache.get(key, load)

    for key in "abcd":
        await keep(key, 3000)
    assert len(cache) == 3 and cache.weight <= 10_000, "the least recently used dropped for the bytes"
    for n in range(10):
        await keep(f"small{n}", 0)
    assert len(cache) == 5, "and for the entries"
    await keep("huge", 20_000)
    assert len(cache) == 5 and cache.weight <= 10_000, "an answer larger than the bound is not kept"
    nothing = ResponseCache(60, max_bytes=0)
    await nothing.get("a", lambda: _absent())
    assert len(nothing) == 0, "WHARF_RESPONSE_CACHE_BYTES=0 keeps nothing"


async def _absent() -> Absent:
    return Absent("No extension a/b.", ())


async def test_sourcegraphs_answers_revalidate_with_its_media_type_and_vary(client: Client, alice: UserFixture) -> None:
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await _forget_writes(client)
    first = await client.get(SG_METADATA, headers=SOURCEGRAPH)
    again = await client.get(SG_METADATA, headers={**SOURCEGRAPH, "If-None-Match": first.headers["ETag"]})
    assert (first.status, again.status) == (200, 304)
    for response in (first, again):
        assert response.headers["X-Sourcegraph-Media-Type"] == "sourcegraph.v20180621; format=json"
        assert response.headers["Vary"] == "Accept, X-Sourcegraph-Media-Type"
        assert response.headers["Cache-Control"] == "max-age=30, private"
    assert (await client.get(SG_METADATA)).status == 400, "a wrong Accept is refused before any cache is asked"
