"""Serving bundles and source maps: caching headers, compression, integrity, downloads."""

from __future__ import annotations

import base64
import gzip
import hashlib

import asyncpg
import brotli
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry import appkeys
from tests.support.factories import make_user
from tests.support.registry import SOURCE_MAP, publish

Client = TestClient[web.Request, web.Application]
BIG_BUNDLE = "export const words = [" + ",".join(f'"w{n}"' for n in range(20000)) + "];\n"


@pytest.fixture
async def published(client: Client, db: asyncpg.Connection) -> dict[str, object]:
    alice = await make_user(db, "alice")
    return await publish(client, alice.headers, "alice/wc", "1.0.0", bundle=BIG_BUNDLE)


async def test_a_bundle_by_version_is_immutable_and_locked_down(client: Client, published: dict[str, object]) -> None:
    response = await client.get(
        "/api/extensions/alice/wc/-/bundle.js?version=1.0.0", headers={"Accept-Encoding": "identity"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Content-Encoding" not in response.headers


async def test_by_tag_the_bundle_is_cached_briefly(client: Client, published: dict[str, object]) -> None:
    response = await client.get("/api/extensions/alice/wc/-/bundle.js?tag=release")
    assert response.headers["Cache-Control"] == "public, max-age=60"


async def test_a_matching_etag_is_304(client: Client, published: dict[str, object]) -> None:
    first = await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0")
    etag = first.headers["ETag"]
    again = await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["ETag"] == etag
    assert await again.read() == b""
    other = await client.get(
        "/api/extensions/alice/wc/-/bundle.js?version=1.0.0", headers={"If-None-Match": '"nope", ' + etag}
    )
    assert other.status == 304
    stale = await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0", headers={"If-None-Match": '"nope"'})
    assert stale.status == 200


@pytest.mark.parametrize("encoding", ["gzip", "br"])
async def test_compressed_bundles_decode_to_the_stored_bytes(
    client: Client, db: asyncpg.Connection, published: dict[str, object], encoding: str
) -> None:
    stored = (await db.fetchval("SELECT bundle FROM registry_extension_releases")).encode()
    response = await client.get(
        "/api/extensions/alice/wc/-/bundle.js?version=1.0.0",
        headers={"Accept-Encoding": encoding},
        auto_decompress=False,
    )
    assert response.headers["Content-Encoding"] == encoding
    raw = await response.read()
    assert len(raw) < len(stored) / 3
    decoded = gzip.decompress(raw) if encoding == "gzip" else brotli.decompress(raw)
    assert decoded == stored


async def test_the_bundle_points_at_its_source_map_and_its_integrity_holds(
    client: Client, published: dict[str, object]
) -> None:
    served = await (await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0")).read()
    static_map = published["source_map"]["static_url"]  # type: ignore[index]
    assert served.endswith(f"//# sourceMappingURL=http://{client.host}:{client.port}{static_map}\n".encode())
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(served).digest()).decode()
    assert published["bundle"]["integrity"] == integrity  # type: ignore[index]
    assert published["bundle"]["sha256"] == hashlib.sha256(served).hexdigest()  # type: ignore[index]
    source_map = await client.get(static_map)  # type: ignore[arg-type]
    assert source_map.status == 200
    assert source_map.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await source_map.text() == SOURCE_MAP


async def test_sourcegraph_static_urls_serve_by_release_id(client: Client, published: dict[str, object]) -> None:
    url = published["bundle"]["static_url"]  # type: ignore[index]
    response = await client.get(f"{url}?1700000000")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for missing in ("/-/static/extension/999-alice-wc.js", "/-/static/extension/x.js", "/-/static/extension/1-a.css"):
        assert (await client.get(missing)).status == 404


async def test_missing_things_are_404(client: Client, published: dict[str, object]) -> None:
    assert (await client.get("/api/extensions/alice/wc/-/bundle.js?version=9.9.9")).status == 404
    assert (await client.get("/api/extensions/alice/wc/-/bundle.js?tag=next")).status == 404
    assert (await client.get("/api/extensions/alice/nope/-/bundle.js")).status == 404
    assert (await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0&tag=x")).status == 400


async def test_a_deleted_extension_is_no_longer_served(
    client: Client, db: asyncpg.Connection, published: dict[str, object]
) -> None:
    headers = {"Authorization": f"token {await _alice_token(db)}"}
    assert (await client.delete("/api/extensions/alice/wc", headers=headers)).status == 204
    assert (await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0")).status == 404
    assert (await client.get(published["bundle"]["static_url"])).status == 404  # type: ignore[index]
    # the extension's name is free again, its published versions never are (migration 6)
    assert (await publish(client, headers, "alice/wc", "1.0.0", expect=409))["status"] == 409
    await publish(client, headers, "alice/wc", "1.0.1")


async def _alice_token(db: asyncpg.Connection) -> str:
    from tests.support.factories import make_token

    return await make_token(db, await db.fetchval("SELECT id FROM users WHERE username = 'alice'"))


async def test_hot_bundles_come_from_memory(client: Client, published: dict[str, object]) -> None:
    cache = client.app[appkeys.ASSETS]
    for _ in range(5):
        await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0")
    assert cache.misses == 1
    assert cache.hits >= 4


async def test_downloads_are_counted_and_flushed_in_batches(
    client: Client, db: asyncpg.Connection, published: dict[str, object]
) -> None:
    for _ in range(3):
        await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0")
    await client.get("/api/extensions/alice/wc/-/bundle.js.map?version=1.0.0")  # maps are not downloads
    etag = (await client.get("/api/extensions/alice/wc/-/bundle.js")).headers["ETag"]
    await client.get("/api/extensions/alice/wc/-/bundle.js", headers={"If-None-Match": etag})  # nor are 304s
    assert await db.fetchval("SELECT count(*) FROM registry_extension_downloads") == 0, "nothing written per request"
    # one client counts once per release per window (tests/http/test_download_counts.py has several)
    assert await client.app[appkeys.DOWNLOADS].flush(client.app[appkeys.POOL]) == 1
    assert await db.fetchval("SELECT sum(count) FROM registry_extension_downloads") == 1
    extension = await (await client.get("/api/extensions/alice/wc")).json()
    assert extension["downloads"] == 1
    release = await (await client.get("/api/extensions/alice/wc/releases/1.0.0")).json()
    assert release["downloads"] == 1
    series = await (await client.get("/api/extensions/alice/wc/downloads?days=7")).json()
    assert series["total"] == 1
    assert [point["count"] for point in series["days"]] == [1]
    assert (await client.get("/api/extensions/alice/wc/downloads?days=0")).status == 400
