"""The remote-registry API as a Sourcegraph instance calls it."""

from __future__ import annotations

import asyncpg
import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import make_user
from tests.support.registry import manifest, publish

Client = TestClient[web.Request, web.Application]
ACCEPT = {"Accept": "application/vnd.sourcegraph.api+json;version=20180621"}
KEYS = {"uuid", "extensionID", "publisher", "name", "manifest", "createdAt", "updatedAt", "publishedAt", "url"}


async def _publish_two(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await publish(
        client, alice.headers, "alice/word-count", "1.0.0", manifest=manifest(categories=["Other"], tags=["words"])
    )
    await publish(
        client, alice.headers, "alice/linter", "1.0.0", manifest=manifest(title="Linter", categories=["Linters"])
    )


async def test_the_media_type_is_required(client: Client) -> None:
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "application/vnd.sourcegraph.api+json;version=1"}):
        response = await client.get("/.api/registry/extensions", headers=headers)
        assert response.status == 400


async def test_listing_returns_a_bare_array_in_sourcegraphs_shape(client: Client, db: asyncpg.Connection) -> None:
    await _publish_two(client, db)
    response = await client.get("/.api/registry/extensions", headers=ACCEPT)
    assert response.status == 200
    assert response.headers["X-Sourcegraph-Media-Type"] == "sourcegraph.v20180621; format=json"
    assert "X-Sourcegraph-Media-Type" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "max-age=30, private"
    body = await response.json()
    assert isinstance(body, list)
    assert all(set(item) == KEYS for item in body)
    word_count = next(item for item in body if item["extensionID"] == "alice/word-count")
    assert set(word_count["publisher"]) == {"name", "url"}
    served = orjson.loads(word_count["manifest"])  # the manifest travels as a JSON string
    assert "/-/static/extension/" in served["url"]
    bundle = await client.get(served["url"].split(str(client.port), 1)[1])
    assert bundle.status == 200


async def test_q_understands_category_and_tag_filters(client: Client, db: asyncpg.Connection) -> None:
    await _publish_two(client, db)

    async def ids(q: str) -> list[str]:
        body = await (await client.get("/.api/registry/extensions", params={"q": q}, headers=ACCEPT)).json()
        return [item["extensionID"] for item in body]

    assert await ids('category:"Linters"') == ["alice/linter"]
    assert await ids("tag:words") == ["alice/word-count"]
    assert await ids('word category:"Other"') == ["alice/word-count"]
    assert await ids('category:"Games"') == []


async def test_single_extensions_by_uuid_and_by_extension_id(client: Client, db: asyncpg.Connection) -> None:
    await _publish_two(client, db)
    by_id = await client.get("/.api/registry/extensions/extension-id/alice/linter", headers=ACCEPT)
    assert by_id.status == 200
    body = await by_id.json()
    by_uuid = await (await client.get(f"/.api/registry/extensions/uuid/{body['uuid']}", headers=ACCEPT)).json()
    assert by_uuid == body
    missing = await client.get("/.api/registry/extensions/extension-id/alice/nope", headers=ACCEPT)
    assert missing.status == 404
    assert missing.headers["Cache-Control"] == "max-age=5, private"
    assert (await client.get("/.api/registry/extensions/uuid/garbage", headers=ACCEPT)).status == 404


async def test_a_manifest_with_its_own_url_keeps_it(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    own = manifest(url="https://cdn.example.com/ext.js")
    await publish(client, alice.headers, "alice/hosted", "1.0.0", manifest=own, force=True)
    body = await (await client.get("/.api/registry/extensions/extension-id/alice/hosted", headers=ACCEPT)).json()
    assert orjson.loads(body["manifest"])["url"] == "https://cdn.example.com/ext.js"
