"""Publishing: one call or per extension, JSON or multipart, warnings, versions, idempotency."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
from datetime import timedelta

import asyncpg
import orjson
import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from tests.conftest import ClientWith
from tests.support.factories import auth, make_org, make_token, make_user
from tests.support.registry import SOURCE_MAP, bundle_for, manifest, publish, publish_form

Client = TestClient[web.Request, web.Application]


async def test_publish_creates_the_extension_and_its_first_release(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    release = await publish(client, alice.headers, "alice/word-count", "1.0.0")
    assert release["extension_id"] == "alice/word-count"
    assert release["version"] == "1.0.0"
    assert release["tag"] == "release"
    assert release["warnings"] == []
    assert release["bundle"]["integrity"].startswith("sha384-")
    extension = await (await client.get("/api/extensions/alice/word-count")).json()
    assert extension["latest_release"]["version"] == "1.0.0"
    assert extension["title"] == "Word count"
    assert extension["manifest"]["title"] == "Word count"
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 1


async def test_publish_takes_multipart_with_files(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/publish", data=publish_form("alice/word-count", "2.1.0"), headers=alice.headers)
    assert response.status == 201, await response.text()
    assert (await response.json())["version"] == "2.1.0", "the version comes from the manifest"


@pytest.mark.parametrize(("extension_id", "status"), [("alice/word-count", 403), ("nobody/word-count", 404)])
async def test_a_multipart_publish_is_authorized_before_its_bundle_is_read(
    client_with: ClientWith, db: asyncpg.Connection, extension_id: str, status: int
) -> None:
    """The extension_id part comes first (as the CLI sends it): someone else's upload is refused
    there, not after its bundle, which here is even over the limit (413 if it were read)."""
    small = await client_with(max_bundle_bytes=1024)
    await make_user(db, "alice")
    mallory = await make_user(db, "mallory")
    form = FormData()
    form.add_field("extension_id", extension_id)
    form.add_field("manifest", orjson.dumps(manifest(version="1.0.0")).decode(), content_type="application/json")
    form.add_field("bundle", b"x" * 4096, filename="extension.js", content_type="application/javascript")
    response = await small.post("/api/publish", data=form, headers=mallory.headers)
    assert response.status == status, await response.text()
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0


async def test_releases_of_an_existing_extension(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    assert (
        await client.post("/api/extensions", json={"publisher": "alice", "name": "wc"}, headers=alice.headers)
    ).status == 201
    body = {"manifest": manifest(), "bundle": bundle_for("0.1.0"), "source_map": SOURCE_MAP, "version": "0.1.0"}
    response = await client.post("/api/extensions/alice/wc/releases", json=body, headers=alice.headers)
    assert response.status == 201
    assert response.headers["Location"] == "/api/extensions/alice/wc/releases/0.1.0"
    missing = await client.post("/api/extensions/alice/nope/releases", json=body, headers=alice.headers)
    assert missing.status == 404


async def test_warnings_block_publication_unless_forced(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bare = {"activationEvents": ["*"]}
    blocked = await publish(client, alice.headers, "alice/bare", "1.0.0", manifest=bare, source_map=None, expect=422)
    assert [w["pointer"] for w in blocked["warnings"]] == [
        "/source_map",
        "/manifest/repository",
        "/manifest/description",
    ]
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0, "nothing half-created"
    forced = await publish(client, alice.headers, "alice/bare", "1.0.0", manifest=bare, source_map=None, force=True)
    assert len(forced["warnings"]) == 3


async def test_schema_errors_block_even_when_forced(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    invalid = await publish(
        client, alice.headers, "alice/x", "1.0.0", manifest={"title": "no events"}, force=True, expect=422
    )
    assert invalid["errors"][0]["pointer"] == "/manifest/activationEvents"


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"version": "1.0"}, "/version"),
        ({"version": "v1.0.0"}, "/version"),
        ({"version": "1.0.0", "manifest": manifest(version="1.0.1")}, "/version"),
        ({"tag": "Not A Tag"}, "/tag"),
        ({"extension_id": "no-slash"}, "/extension_id"),
        ({"bundle": "a\u0000b"}, "/bundle"),
        ({"source_map": "not json"}, "/source_map"),
        ({"manifest": "[1]"}, "/manifest"),
    ],
)
async def test_invalid_releases_are_422_and_change_nothing(
    client: Client, db: asyncpg.Connection, fields: dict[str, object], pointer: str
) -> None:
    alice = await make_user(db, "alice")
    body = {
        "extension_id": "alice/wc",
        "manifest": manifest(),
        "bundle": "x",
        "source_map": SOURCE_MAP,
        "version": "1.0.0",
    }
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    response = await client.post("/api/publish", json=body, headers=alice.headers)
    assert response.status == 422, await response.text()
    assert pointer in [e["pointer"] for e in (await response.json())["errors"]]
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0


async def test_a_name_that_breaks_the_tables_rules_is_422(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    invalid = await publish(client, alice.headers, "alice/-bad..name", "1.0.0", expect=422)
    assert invalid["errors"][0]["pointer"] == "/name"


async def test_identical_republish_is_idempotent_and_different_content_conflicts(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    first = await publish(client, alice.headers, "alice/wc", "1.0.0")
    # the same content, serialised differently, is still the same release
    again = await publish(
        client, alice.headers, "alice/wc", "1.0.0", manifest=dict(reversed(list(manifest().items()))), expect=200
    )
    assert again["id"] == first["id"]
    changed = await publish(client, alice.headers, "alice/wc", "1.0.0", bundle="export const x = 2;\n", expect=409)
    assert "different content" in changed["detail"]
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 1


async def test_a_yanked_version_is_never_reused(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "1.0.0")
    await publish(client, alice.headers, "alice/wc", "1.1.0")
    assert (await client.delete("/api/extensions/alice/wc/releases/1.1.0", headers=alice.headers)).status == 204
    again = await publish(client, alice.headers, "alice/wc", "1.1.0", expect=409)
    assert "yanked" in again["detail"]
    shown = await (await client.get("/api/extensions/alice/wc/releases/1.1.0")).json()
    assert shown["yanked_at"] is not None
    extension = await (await client.get("/api/extensions/alice/wc")).json()
    assert extension["latest_release"]["version"] == "1.0.0", "the listing falls back"
    assert (await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.1.0")).status == 404


async def test_the_latest_release_is_chosen_by_semver_per_tag(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for version in ("1.10.0", "1.9.0", "2.0.0-rc.1"):
        await publish(client, alice.headers, "alice/wc", version)
    await publish(client, alice.headers, "alice/wc", "3.0.0-beta.1", tag="next")
    await publish(client, alice.headers, "alice/wc", "3.0.0-beta.2", tag="next")

    async def served(query: str) -> str:
        response = await client.get(f"/api/extensions/alice/wc/-/bundle.js?{query}")
        assert response.status == 200
        return await response.text()

    assert "'1.10.0'" in await served("tag=release")
    assert "'1.10.0'" in await served("")
    assert "'3.0.0-beta.2'" in await served("tag=next")
    assert "'1.9.0'" in await served("version=1.9.0")
    listing = await (await client.get("/api/extensions/alice/wc/releases")).json()
    assert [r["version"] for r in listing["items"]] == ["3.0.0-beta.2", "3.0.0-beta.1", "2.0.0-rc.1", "1.10.0", "1.9.0"]
    only_next = await (await client.get("/api/extensions/alice/wc/releases?tag=next")).json()
    assert [r["version"] for r in only_next["items"]] == ["3.0.0-beta.2", "3.0.0-beta.1"]


async def test_legacy_unversioned_releases_fall_back_to_the_newest(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    created = await client.post("/api/extensions", json={"publisher": "alice", "name": "wc"}, headers=alice.headers)
    assert created.status == 201
    ext = await db.fetchval("SELECT id FROM registry_extensions")
    for bundle, age in (("legacy oldest", timedelta(days=1)), ("legacy newest", timedelta(0))):
        await db.execute(
            "INSERT INTO registry_extension_releases"
            " (registry_extension_id, creator_user_id, release_tag, manifest, bundle, bundle_sha256, created_at)"
            " VALUES ($1, $2, 'release', '{}', $3, '\\x01', now() - $4::interval)",
            ext,
            alice.id,
            bundle,
            age,
        )
    assert await (await client.get("/api/extensions/alice/wc/-/bundle.js")).text() == "legacy newest"


async def test_a_member_publishes_for_the_org_and_others_get_403(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    await make_org(db, "acme", [alice])
    await publish(client, alice.headers, "acme/tool", "1.0.0")
    denied = await publish(client, bob.headers, "acme/tool", "1.1.0", expect=403)
    assert denied["detail"] == "You may not publish for acme."
    await publish(client, bob.headers, "alice/tool", "1.0.0", expect=403)
    assert (await client.delete("/api/extensions/acme/tool", headers=bob.headers)).status == 403
    assert (await client.delete("/api/extensions/acme/tool/releases/1.0.0", headers=bob.headers)).status == 403
    await publish(client, {}, "acme/tool", "1.2.0", expect=401)


async def test_publish_scope_is_enough_and_needed(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    publish_only = auth(await make_token(db, alice.id, ["registry:publish"]))
    sudo_only = auth(await make_token(db, alice.id, ["site-admin:sudo"]))
    await publish(client, publish_only, "alice/wc", "1.0.0")
    await publish(client, sudo_only, "alice/wc", "1.1.0", expect=403)


async def test_thirty_concurrent_publishes_of_one_version_have_one_winner(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await publish(client, alice.headers, "alice/wc", "0.9.0")
    results = await asyncio.gather(
        *(
            publish(client, alice.headers, "alice/wc", "1.0.0", bundle=f"export const n = {n};\n", expect=None)
            for n in range(30)
        )
    )
    assert sorted(r["_status"] for r in results) == [201] + [409] * 29
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases WHERE release_version = '1.0.0'") == 1


async def test_concurrent_identical_publishes_all_succeed_with_one_release(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    results = await asyncio.gather(
        *(publish(client, alice.headers, "alice/new", "1.0.0", expect=None) for _ in range(10))
    )
    assert sorted(r["_status"] for r in results) == [200] * 9 + [201]
    assert len({r["id"] for r in results}) == 1
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 1


@pytest.fixture
async def tight_client(client_with: ClientWith) -> Client:
    return await client_with(max_bundle_bytes=4096, max_source_map_bytes=8192, max_manifest_bytes=2048)


@pytest.mark.parametrize(
    ("field", "size"),
    [("bundle", 4097), ("source_map", 8193), ("manifest", 3000)],
)
async def test_oversized_parts_are_413(tight_client: Client, db: asyncpg.Connection, field: str, size: int) -> None:
    alice = await make_user(db, "alice")
    values = {
        "bundle": "x" * size if field == "bundle" else "x",
        "source_map": '{"version":3,"x":"' + "y" * size + '"}' if field == "source_map" else SOURCE_MAP,
        "manifest": manifest(readme="z" * size) if field == "manifest" else manifest(),
    }
    response = await tight_client.post(
        "/api/publish", json={"extension_id": "alice/wc", "version": "1.0.0", **values}, headers=alice.headers
    )
    assert response.status == 413
    form = FormData()
    form.add_field("extension_id", "alice/wc")
    form.add_field("version", "1.0.0")
    form.add_field("manifest", orjson.dumps(values["manifest"]).decode())
    form.add_field("bundle", values["bundle"].encode(), filename="b.js")
    form.add_field("source_map", values["source_map"].encode(), filename="b.js.map")
    multipart = await tight_client.post("/api/publish", data=form, headers=alice.headers)
    assert multipart.status == 413
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 0


async def test_unexpected_multipart_parts_and_content_types_are_refused(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    form = FormData()
    form.add_field("surprise", b"x", filename="surprise.bin")
    assert (await client.post("/api/publish", data=form, headers=alice.headers)).status == 400
    text = await client.post("/api/publish", data=b"x", headers={**alice.headers, "Content-Type": "text/plain"})
    assert text.status == 415


def _large_bundle(size: int) -> str:
    line = "export function f(a, b) { return [a, b, {c: a * b}]; }\n"  # commas and brackets, as code has
    return (line * (size // len(line) + 1))[:size] + "\n//# sourceMappingURL=extension.js.map\n"


@pytest.mark.parametrize(
    ("form", "size"),
    [
        ("json", 1_200_000),  # over a MiB: checked in a worker process, parsed again in line
        ("json", 3_000_000),  # over 2 MiB: checked in a worker process and carried back from it
        ("multipart", 3_000_000),
    ],
)
async def test_a_large_bundle_is_stored_as_sent_pointed_at_its_source_map_with_digests_of_what_is_served(
    client: Client, db: asyncpg.Connection, form: str, size: int
) -> None:
    alice = await make_user(db, "alice")
    bundle = _large_bundle(size)
    if form == "json":
        body = {"extension_id": "alice/wc", "manifest": manifest(), "bundle": bundle, "source_map": SOURCE_MAP,
                "version": "1.0.0"}  # fmt: skip
        headers = {**alice.headers, "Content-Type": "application/json"}
        response = await client.post("/api/publish", data=io.BytesIO(orjson.dumps(body)), headers=headers)
    else:
        data = FormData()
        data.add_field("extension_id", "alice/wc")
        data.add_field("manifest", orjson.dumps(manifest(version="1.0.0")).decode(), content_type="application/json")
        javascript = io.BytesIO(bundle.encode())
        data.add_field("bundle", javascript, filename="extension.js", content_type="application/javascript")
        data.add_field("source_map", SOURCE_MAP.encode(), filename="extension.js.map", content_type="application/json")
        response = await client.post("/api/publish", data=data, headers=alice.headers)
    assert response.status == 201, await response.text()
    release = await response.json()

    served = await (await client.get("/api/extensions/alice/wc/-/bundle.js?version=1.0.0")).read()
    kept = bundle.removesuffix("//# sourceMappingURL=extension.js.map\n").encode()
    link = f"//# sourceMappingURL=http://{client.host}:{client.port}{release['source_map']['static_url']}\n"
    assert served == kept + link.encode()
    assert release["bundle"]["size"] == len(served)
    assert release["bundle"]["sha256"] == hashlib.sha256(served).hexdigest()
    assert release["bundle"]["integrity"] == "sha384-" + base64.b64encode(hashlib.sha384(served).digest()).decode()
    assert release["source_map"]["sha256"] == hashlib.sha256(SOURCE_MAP.encode()).hexdigest()
    assert release["source_map"]["size"] == len(SOURCE_MAP)
    assert await db.fetchval("SELECT bundle FROM registry_extension_releases") == served.decode()
