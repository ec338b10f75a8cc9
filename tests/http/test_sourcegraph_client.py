"""Sourcegraph's remote-registry client against Wharf: the exact requests it sends, and every
property of the answers it checks (cmd/frontend/registry/client/client.go and types.go).

`sourcegraph_get` below does what the client's `httpGet` does, in its order: the media-type
header first (TrimSpace'd, compared exactly), then the status (404 → its not-found error), then
JSON decoding into `registry.Extension`, whose times are Go `time.Time`s (RFC 3339).
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import make_org, make_user
from tests.support.registry import SOURCE_MAP, bundle_for, manifest, publish

Client = TestClient[web.Request, web.Application]

# The client's constants, spelled out as client.go spells them.
ACCEPT = "application/vnd.sourcegraph.api+json;version=20180621"
MEDIA_TYPE = "sourcegraph.v20180621; format=json"
USER_AGENT = "Sourcegraph registry client v20180621"
# Go's time.Time.UnmarshalJSON: RFC 3339, fractional seconds optional.
RFC3339 = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})\Z")
EXTENSION_KEYS = {
    "uuid",
    "extensionID",
    "publisher",
    "name",
    "manifest",
    "createdAt",
    "updatedAt",
    "publishedAt",
    "url",
}


class NotAValidRegistry(Exception):
    pass


class NotFoundError(Exception):
    pass


class HTTPError(Exception):
    pass


def decode_extension(value: Any) -> dict[str, Any]:
    """What json.Decode into registry.Extension accepts (unknown keys would be ignored; the keys
    Sourcegraph's server sent are all present)."""
    assert isinstance(value, dict)
    assert set(value) == EXTENSION_KEYS
    for key in ("uuid", "extensionID", "name", "url"):
        assert isinstance(value[key], str)
    assert set(value["publisher"]) == {"name", "url"}
    assert all(isinstance(v, str) for v in value["publisher"].values())
    assert value["manifest"] is None or isinstance(value["manifest"], str)
    for key in ("createdAt", "updatedAt", "publishedAt"):
        assert isinstance(value[key], str) and RFC3339.match(value[key]), value[key]
    return value


async def sourcegraph_get(client: Client, url: str) -> Any:
    response = await client.get(url, headers={"Accept": ACCEPT, "User-Agent": USER_AGENT})
    if response.headers.get("X-Sourcegraph-Media-Type", "").strip() != MEDIA_TYPE:
        raise NotAValidRegistry(response.headers.get("X-Sourcegraph-Media-Type"))
    if response.status == 404:
        raise NotFoundError(url)
    if response.status != 200:
        raise HTTPError(response.status)
    return orjson.loads(await response.read())


async def _two_extensions(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await make_org(db, "acme", [alice])
    await publish(client, alice.headers, "alice/word-count", "1.0.0", manifest=manifest(tags=["words"]))
    await publish(client, alice.headers, "acme/lint_er.v2", "2.0.0", manifest=manifest(categories=["Linters"]))


async def test_list_decodes_as_the_client_decodes_it(client: Client, db: asyncpg.Connection) -> None:
    await _two_extensions(client, db)
    listed = await sourcegraph_get(client, "/.api/registry/extensions")  # the client sends no `?` without q
    assert isinstance(listed, list)
    assert sorted(decode_extension(x)["extensionID"] for x in listed) == ["acme/lint_er.v2", "alice/word-count"]
    assert await sourcegraph_get(client, "/.api/registry/extensions?q=word-count") == [
        x for x in listed if x["extensionID"] == "alice/word-count"
    ]


async def test_an_empty_registry_lists_an_empty_array(client: Client) -> None:
    assert await sourcegraph_get(client, "/.api/registry/extensions") == []
    assert await sourcegraph_get(client, "/.api/registry/extensions?q=nothing") == []
    assert await sourcegraph_get(client, "/.api/registry/extensions/featured") == []


async def test_get_by_extension_id_and_by_uuid_agree(client: Client, db: asyncpg.Connection) -> None:
    await _two_extensions(client, db)
    by_id = decode_extension(await sourcegraph_get(client, "/.api/registry/extensions/extension-id/alice/word-count"))
    by_uuid = await sourcegraph_get(client, f"/.api/registry/extensions/uuid/{by_id['uuid']}")
    assert by_uuid == by_id
    assert by_id["name"] == "word-count" and by_id["publisher"]["name"] == "alice"
    assert by_id["url"].endswith("/extensions/alice/word-count")


@pytest.mark.parametrize(
    "path",
    [
        "/.api/registry/extensions/extension-id/alice/nope",
        "/.api/registry/extensions/extension-id/nobody/nothing",
        "/.api/registry/extensions/uuid/3f0c1e5e-7d5a-4c0f-9a43-3d8a8b1c2d3e",
        "/.api/registry/extensions/uuid/not-a-uuid",
        "/.api/registry/extensions/extension-id/host.example/alice/word-count",  # a prefixed (remote) id
        "/.api/registry/extensions/nothing-here",
    ],
)
async def test_not_found_is_the_clients_not_found(client: Client, db: asyncpg.Connection, path: str) -> None:
    await _two_extensions(client, db)
    with pytest.raises(NotFoundError):
        await sourcegraph_get(client, path)


async def test_every_answer_under_the_registry_carries_the_media_type(client: Client) -> None:
    """Errors too: without the header the client reports 'not a valid Sourcegraph registry'
    instead of the status."""
    answers = [
        await client.get("/.api/registry/extensions"),  # no Accept: 400
        await client.get("/.api/registry/extensions", headers={"Accept": "application/json"}),  # 400
        await client.get("/.api/registry/nope", headers={"Accept": ACCEPT}),  # routing 404
        await client.post("/.api/registry/extensions", headers={"Accept": ACCEPT}),  # 405
        await client.get("/.api/registry/extensions/extension-id/a/b", headers={"Accept": ACCEPT}),  # 404
    ]
    assert [a.status for a in answers] == [400, 400, 404, 405, 404]
    for answer in answers:
        assert answer.headers["X-Sourcegraph-Media-Type"] == MEDIA_TYPE
        assert "X-Sourcegraph-Media-Type" in answer.headers["Vary"]
    assert "X-Sourcegraph-Media-Type" not in (await client.get("/api/extensions")).headers


async def test_the_client_check_fails_on_any_other_media_type_value(client: Client) -> None:
    """The check itself, so that this suite would catch a wrong value: the Accept value in the
    header (the old mistake) is not a registry to the client."""
    response = await client.get("/.api/registry/extensions", headers={"Accept": ACCEPT})
    assert response.headers["X-Sourcegraph-Media-Type"] == MEDIA_TYPE != ACCEPT
    assert response.headers["X-Sourcegraph-Media-Type"].strip() == "sourcegraph.v20180621; format=json"


async def test_an_extension_without_a_release_is_listed_with_a_null_manifest(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    created = await client.post("/api/extensions", json={"publisher": "alice", "name": "draft"}, headers=alice.headers)
    assert created.status == 201
    listed = await sourcegraph_get(client, "/.api/registry/extensions")
    draft = decode_extension(next(x for x in listed if x["extensionID"] == "alice/draft"))
    assert draft["manifest"] is None
    assert draft["publishedAt"] == "0001-01-01T00:00:00Z"  # Go's zero time, as Sourcegraph sent it
    one = await sourcegraph_get(client, "/.api/registry/extensions/extension-id/alice/draft")
    assert one == draft


async def test_publisher_urls_lead_to_pages_that_exist(client: Client, db: asyncpg.Connection) -> None:
    await _two_extensions(client, db)
    listed = await sourcegraph_get(client, "/.api/registry/extensions")
    paths = {x["publisher"]["name"]: x["publisher"]["url"].split(str(client.port), 1)[1] for x in listed}
    assert paths == {"alice": "/users/alice", "acme": "/organizations/acme"}
    for path in [*paths.values(), "/extensions/registry/publishers/users/alice"]:
        redirected = await client.get(path, allow_redirects=False)
        assert redirected.status == 301
        page = await client.get(path)
        assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    for x in listed:
        assert (await client.get(x["url"].split(str(client.port), 1)[1])).status == 200


async def test_the_served_manifest_points_at_a_static_bundle_url_in_sourcegraphs_form(
    client: Client, db: asyncpg.Connection
) -> None:
    await _two_extensions(client, db)
    one = await sourcegraph_get(client, "/.api/registry/extensions/extension-id/acme/lint_er.v2")
    served = orjson.loads(one["manifest"])  # the manifest travels as a JSON string
    assert served["title"] == "Word count" and served["categories"] == ["Linters"]
    # Sourcegraph's makeExtensionBundleURL: [^a-zA-Z0-9-] → "-", and a base-36 cache-buster
    match = re.fullmatch(r".*/-/static/extension/(\d+)-acme-lint-er-v2\.js\?[0-9a-z]+--acme-lint-er-v2", served["url"])
    assert match is not None, served["url"]
    release_id = match[1]
    bundle = await client.get(served["url"].split(str(client.port), 1)[1])
    assert bundle.status == 200
    assert bundle.headers["Content-Type"] == "application/javascript; charset=utf-8"
    text = await bundle.text()
    assert text.startswith(bundle_for("2.0.0").split("\n")[0])
    # the bundle names its source map by an absolute URL that is served
    map_url = re.search(r"//# sourceMappingURL=(\S+)", text)
    assert map_url is not None
    source_map = await client.get(map_url[1].split(str(client.port), 1)[1])
    assert source_map.status == 200 and await source_map.text() == SOURCE_MAP
    for form in (f"{release_id}.js", f"{release_id}.map", f"{release_id}-anything-at-all.map", f"{release_id}-x.js?1"):
        assert (await client.get(f"/-/static/extension/{form}")).status == 200, form


@pytest.mark.parametrize("name", ["abc.js", "-1.js", "1.css", "1-x.json", "99999999999999999999.js", "1/2.js"])
async def test_other_static_file_names_are_404(client: Client, db: asyncpg.Connection, name: str) -> None:
    await _two_extensions(client, db)
    assert (await client.get(f"/-/static/extension/{name}")).status == 404


async def test_featured_are_the_most_downloaded_published_extensions(client: Client, db: asyncpg.Connection) -> None:
    await _two_extensions(client, db)
    await db.execute("UPDATE registry_extensions SET downloads = 7 WHERE name = 'lint_er.v2'")
    featured = await sourcegraph_get(client, "/.api/registry/extensions/featured")
    assert [decode_extension(x)["extensionID"] for x in featured] == ["acme/lint_er.v2", "alice/word-count"]
