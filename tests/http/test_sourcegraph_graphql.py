"""src-cli's `src extensions` commands against Wharf's /.api/graphql, request for request.

Each operation text is the one src-cli sends (cmd/src/extensions_*.go at the versions that had
the commands), posted as src-cli's api client posts it: `Authorization: token …`, the JSON body
gzip-compressed with `Content-Encoding: gzip`, and no Content-Type. src-cli then reads
`data` (or fails on `errors`); its `Do` fails on any status but 200.
"""

from __future__ import annotations

import gzip
import io
import os
import re
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.config import Config
from tests.conftest import AppFactory
from tests.support.factories import make_org, make_token, make_user
from tests.support.registry import SOURCE_MAP
from tests.support.responsive import RESPONSIVE, slowest_healthz

Client = TestClient[web.Request, web.Application]

PUBLISH = """mutation PublishExtension(
  $extensionID: String!,
  $manifest: String!,
  $bundle: String,
  $sourceMap: String,
  $force: Boolean!,
) {
  extensionRegistry {
    publishExtension(
      extensionID: $extensionID,
      manifest: $manifest,
      bundle: $bundle,
      sourceMap: $sourceMap,
      force: $force,
    ) {
      extension {
        extensionID
        url
      }
    }
  }
}"""

FRAGMENT = """
fragment RegistryExtensionFields on RegistryExtension {
    id
    uuid
    extensionID
    name
    createdAt
    updatedAt
    url
    remoteURL
    registryName
    isLocal
    manifest {
        raw
        description
        bundleURL
    }
}
"""

LIST = (
    """query RegistryExtensions(
  $first: Int,
  $query: String,
) {
  extensionRegistry {
    extensions(
      first: $first,
      query: $query,
    ) {
      nodes {
        ...RegistryExtensionFields
      }
\t\t\terror
    }
  }
}"""
    + FRAGMENT
)

GET = (
    """query RegistryExtension(
  $extensionID: String!,
) {
  extensionRegistry {
    extension(
      extensionID: $extensionID
    ) {
      ...RegistryExtensionFields
    }
  }
}"""
    + FRAGMENT
)

DELETE = """mutation DeleteExtension(
  $extension: ID!
) {
  extensionRegistry {
    deleteExtension(
      extension: $extension
    ) {
      alwaysNil
    }
  }
}"""

COPY_GET = """query GetExtension(
\t$extensionID: String!
){
  extensionRegistry{
    extension(extensionID: $extensionID) {
      manifest{
        raw
        bundleURL
      }
    }
  }
}"""

COPY_PUBLISH = """mutation PublishExtension(
\t$extensionID: String!,
\t$manifest: String!,
\t$bundle: String,
) {
\textensionRegistry {
\t\tpublishExtension(
\t\t\textensionID: $extensionID,
\t\t\tmanifest: $manifest,
\t\t\tbundle: $bundle
\t\t) {
\t\t\textension {
\t\t\t\textensionID
\t\t\t\turl
\t\t\t}
\t\t}
\t}
}"""

ACCEPT = {"Accept": "application/vnd.sourcegraph.api+json;version=20180621"}
BUNDLE = "export function activate(ctx) { ctx.subscriptions.add(1) }\n//# sourceMappingURL=hello.map\n"


def package_json(**fields: Any) -> str:
    """A manifest as `src extensions publish` builds it: package.json, with `extensionID` (and a
    readme, a gitHead) set, marshalled with json.MarshalIndent."""
    data = {
        "name": "hello",
        "publisher": "alice",
        "title": "Hello",
        "description": "Says hello.",
        "main": "dist/hello.js",
        "activationEvents": ["*"],
        "extensionID": "alice/hello",
        "readme": "# Hello\n",
        "gitHead": "0123456789abcdef0123456789abcdef01234567",
        **fields,
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


async def src(client: Client, token: str | None, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One src-cli request; returns the decoded body after src-cli's own status check."""
    headers = {"Content-Encoding": "gzip", "User-Agent": "src-cli/3.43.2 linux amd64"}
    if token is not None:
        headers["Authorization"] = f"token {token}"
    body = gzip.compress(orjson.dumps({"query": query, "variables": variables}))
    response = await client.post(
        "/.api/graphql", data=io.BytesIO(body), headers=headers, skip_auto_headers=["Content-Type"]
    )
    assert response.status == 200, await response.text()
    decoded: dict[str, Any] = await response.json()
    return decoded


def publish_variables(**overrides: Any) -> dict[str, Any]:
    return {
        "extensionID": "alice/hello",
        "manifest": package_json(),
        "bundle": BUNDLE,
        "sourceMap": SOURCE_MAP,
        "force": False,
        **overrides,
    }


async def registry_view(client: Client, extension_id: str) -> dict[str, Any]:
    response = await client.get(f"/.api/registry/extensions/extension-id/{extension_id}", headers=ACCEPT)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


async def test_src_publish_is_then_served_by_the_remote_registry(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    answer = await src(client, alice.token, PUBLISH, publish_variables())
    assert "errors" not in answer
    assert answer["data"]["extensionRegistry"]["publishExtension"]["extension"] == {
        "extensionID": "alice/hello",
        "url": "/extensions/alice/hello",  # src-cli prints SRC_ENDPOINT + this
    }
    # an unversioned release (Sourcegraph's), tagged release
    assert await db.fetchval(
        "SELECT release_version IS NULL AND release_tag = 'release' FROM registry_extension_releases"
    )
    served = orjson.loads((await registry_view(client, "alice/hello"))["manifest"])
    assert served["title"] == "Hello" and served["gitHead"].startswith("0123")
    bundle = await client.get(served["url"].split(str(client.port), 1)[1])
    assert bundle.status == 200
    assert (await bundle.text()).startswith("export function activate(ctx)")
    assert (await client.get("/extensions/alice/hello")).status == 200


async def test_each_unversioned_publish_is_a_new_release_and_the_newest_wins(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice")
    await src(client, alice.token, PUBLISH, publish_variables())
    first_url = orjson.loads((await registry_view(client, "alice/hello"))["manifest"])["url"]
    second = BUNDLE.replace("add(1)", "add(2)")
    answer = await src(client, alice.token, PUBLISH, publish_variables(bundle=second))
    assert "errors" not in answer
    served = orjson.loads((await registry_view(client, "alice/hello"))["manifest"])
    assert served["url"] != first_url
    assert "add(2)" in await (await client.get(served["url"].split(str(client.port), 1)[1])).text()
    assert "add(1)" in await (await client.get(first_url.split(str(client.port), 1)[1])).text()  # still by id
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 2


async def test_a_versioned_manifest_keeps_wharfs_rules(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    versioned = publish_variables(manifest=package_json(version="1.0.0"))
    assert "errors" not in await src(client, alice.token, PUBLISH, versioned)
    assert "errors" not in await src(client, alice.token, PUBLISH, versioned)  # identical: idempotent
    changed = await src(client, alice.token, PUBLISH, {**versioned, "bundle": BUNDLE + "// changed\n"})
    assert changed["errors"][0]["extensions"]["code"] == "conflict"
    assert changed["errors"][0]["extensions"]["status"] == 409
    assert await db.fetchval("SELECT array_agg(release_version::text) FROM registry_extension_releases") == ["1.0.0"]


async def test_url_mode_publishes_without_a_bundle(client: Client, db: asyncpg.Connection) -> None:
    """`src extensions publish -url http://localhost:1234/hello.js` sends bundle: null."""
    alice = await make_user(db, "alice")
    dev = publish_variables(manifest=package_json(url="http://localhost:1234/hello.js"), bundle=None, sourceMap=None)
    assert "errors" not in await src(client, alice.token, PUBLISH, dev)
    served = orjson.loads((await registry_view(client, "alice/hello"))["manifest"])
    assert served["url"] == "http://localhost:1234/hello.js"
    missing = await src(client, alice.token, PUBLISH, {**dev, "manifest": package_json()})
    assert missing["errors"][0]["extensions"]["status"] == 422
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 1


async def test_list_get_and_delete_as_src_cli_does_them(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await src(client, alice.token, PUBLISH, publish_variables())
    listed = await src(client, alice.token, LIST, {"first": 1000, "query": None})
    nodes = listed["data"]["extensionRegistry"]["extensions"]["nodes"]
    assert listed["data"]["extensionRegistry"]["extensions"]["error"] is None
    assert [n["extensionID"] for n in nodes] == ["alice/hello"]
    unlimited = await src(client, None, LIST, {"first": None, "query": "hello"})  # -first=-1
    assert unlimited["data"]["extensionRegistry"]["extensions"]["nodes"] == nodes
    got = (await src(client, None, GET, {"extensionID": "alice/hello"}))["data"]["extensionRegistry"]["extension"]
    assert got == nodes[0]
    assert got["isLocal"] is True and got["remoteURL"] is None and got["name"] == "hello"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got["createdAt"])
    assert got["manifest"]["description"] == "Says hello."
    assert got["manifest"]["bundleURL"] == orjson.loads(got["manifest"]["raw"])["url"]
    gone = await src(client, alice.token, DELETE, {"extension": got["id"]})
    assert gone == {"data": {"extensionRegistry": {"deleteExtension": {"alwaysNil": None}}}}
    missing = await client.get("/.api/registry/extensions/extension-id/alice/hello", headers=ACCEPT)
    assert missing.status == 404
    assert (await src(client, None, GET, {"extensionID": "alice/hello"}))["data"]["extensionRegistry"] == {
        "extension": None
    }


async def test_an_empty_registry_lists_no_nodes(client: Client) -> None:
    listed = await src(client, None, LIST, {"first": 1000, "query": None})
    assert listed == {"data": {"extensionRegistry": {"extensions": {"nodes": [], "error": None}}}}


async def test_copy_reads_the_manifest_and_bundle_url_then_publishes(client: Client, db: asyncpg.Connection) -> None:
    """`src extensions copy`: GetExtension (manifest raw + bundleURL), fetch the bundle, publish
    under the current user without a source map or force."""
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    await src(client, alice.token, PUBLISH, publish_variables())
    source = (await src(client, None, COPY_GET, {"extensionID": "alice/hello"}))["data"]["extensionRegistry"]
    bundle = await (await client.get(source["extension"]["manifest"]["bundleURL"].split(str(client.port), 1)[1])).text()
    raw = orjson.loads(source["extension"]["manifest"]["raw"])
    raw.pop("url")
    copied = await src(
        client,
        bob.token,
        COPY_PUBLISH,
        {"extensionID": "bob/hello", "manifest": orjson.dumps(raw).decode(), "bundle": bundle},
    )
    assert copied["data"]["extensionRegistry"]["publishExtension"]["extension"]["extensionID"] == "bob/hello"


async def test_content_type_json_is_taken_too(client: Client, db: asyncpg.Connection) -> None:
    """Newer src-cli versions send Content-Type: application/json."""
    alice = await make_user(db, "alice")
    response = await client.post(
        "/.api/graphql",
        data=gzip.compress(orjson.dumps({"query": PUBLISH, "variables": publish_variables()})),
        headers={**alice_headers(alice.token), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status == 200 and "errors" not in await response.json()


def alice_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


@pytest.mark.parametrize("who", ["anonymous", "stranger", "read-only-scope"])
async def test_publishing_for_someone_else_is_refused_and_changes_nothing(
    client: Client, db: asyncpg.Connection, who: str
) -> None:
    await make_user(db, "alice")
    mallory = await make_user(db, "mallory")
    await make_org(db, "acme", [])
    token = {
        "anonymous": None,
        "stranger": mallory.token,
        "read-only-scope": await make_token(db, mallory.id, ["site-admin:sudo"]),
    }[who]
    for extension_id in ("alice/hello", "acme/hello"):
        answer = await src(client, token, PUBLISH, publish_variables(extensionID=extension_id))
        assert answer["data"] is None
        assert answer["errors"][0]["extensions"]["status"] in (401, 403)
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0


async def test_deleting_someone_elses_extension_is_refused(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    mallory = await make_user(db, "mallory")
    await src(client, alice.token, PUBLISH, publish_variables())
    node_id = (await src(client, None, GET, {"extensionID": "alice/hello"}))["data"]["extensionRegistry"]["extension"][
        "id"
    ]
    refused = await src(client, mallory.token, DELETE, {"extension": node_id})
    assert refused["errors"][0]["extensions"]["status"] == 403
    assert (await src(client, mallory.token, DELETE, {"extension": "bm9wZQ=="}))["errors"][0]["extensions"][
        "status"
    ] == 422
    assert await db.fetchval("SELECT count(*) FROM registry_extensions WHERE deleted_at IS NULL") == 1


async def test_a_bad_token_is_refused_before_the_body_is_read(client: Client) -> None:
    response = await client.post(
        "/.api/graphql",
        data=b"not even gzip",
        headers={"Authorization": "token wharf_nope", "Content-Encoding": "gzip"},
    )
    assert response.status == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b'{"query": 1}', 400),
        (b'{"query": "{ currentUser { username } }", "variables": []}', 400),
        (orjson.dumps({"query": "{" * 20000}), 400),  # over the query size limit
    ],
)
async def test_requests_that_are_not_graphql_are_4xx_problems(client: Client, body: bytes, status: int) -> None:
    response = await client.post("/.api/graphql", data=body, headers={"Content-Type": "application/json"})
    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/problem+json")


async def test_graphql_errors_are_graphql_errors(client: Client) -> None:
    syntax = await src(client, None, "query {", {})
    assert syntax["errors"][0]["message"].startswith("Syntax Error")
    unknown = await src(client, None, "{ nothing }", {})
    assert "Cannot query field 'nothing'" in unknown["errors"][0]["message"]
    deep = "{ extensionRegistry { extensions { nodes { " + "publisher { ... on User { username } } " + "} } } }"
    assert "errors" not in await src(client, None, deep, {})
    nested = (
        'query Q { node(id: "x") { ...F } } fragment F on RegistryExtension { id '
        + "".join("manifest { raw } " for _ in range(3))
        + "}"
    )
    assert "errors" not in await src(client, None, nested, {})


async def test_a_wrong_content_type_is_415(client: Client) -> None:
    response = await client.post(
        "/.api/graphql", data="query=x", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 415


async def test_the_current_user_is_who_the_token_says(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    answer = await src(client, alice.token, "query { currentUser { username url } }", {})
    assert answer == {"data": {"currentUser": {"username": "alice", "url": "/users/alice"}}}
    assert await src(client, None, "query { currentUser { username } }", {}) == {"data": {"currentUser": None}}


@pytest.mark.parametrize(
    "query",
    [
        "{ a: extensionRegistry { extensions { nodes { id } } } b: extensionRegistry { extensions { nodes { id } } }"
        " c: extensionRegistry { extensions { nodes { id } } } }",
        "{ extensionRegistry { "
        + " ".join(f'e{n}: extension(extensionID: "a/b") {{ id }}' for n in range(51))
        + " } }",
        # fragments spread within fragments multiply what one operation reads
        "query { extensionRegistry { ...A ...A } } fragment A on ExtensionRegistry { ...B ...B }"
        " fragment B on ExtensionRegistry { x: extensions { nodes { id } } }",
    ],
)
async def test_a_query_that_would_read_too_much_is_refused_before_it_runs(client: Client, query: str) -> None:
    answer = await src(client, None, query, {})
    assert "asks for too much" in answer["errors"][0]["message"]
    assert "data" not in answer


async def test_the_publish_limits_hold_through_graphql(
    make_client: AppFactory, config: Config, db: asyncpg.Connection
) -> None:
    small = await make_client(config.with_overrides(max_bundle_bytes=1000, max_body_bytes=4096))
    alice = await make_user(db, "alice")
    too_big = await src(small, alice.token, PUBLISH, publish_variables(bundle="x" * 1001))
    assert too_big["errors"][0]["extensions"]["status"] == 413
    # an anonymous caller can only read: its body is held to the small API limit
    anonymous = await small.post(
        "/.api/graphql", data=orjson.dumps({"query": "{ currentUser { username } }", "pad": "x" * 5000})
    )
    assert anonymous.status == 413
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0


async def test_a_huge_graphql_body_is_refused_without_stalling_the_server(
    client: Client, db: asyncpg.Connection
) -> None:
    """16 MB of small JSON values from a signed-in caller: parsed and counted in a worker process,
    and refused there (nothing that large comes back to the event loop)."""
    alice = await make_user(db, "alice")
    warm = publish_variables(manifest=package_json(readme="starts the workers"))
    assert "errors" not in await src(client, alice.token, PUBLISH, warm)
    body = orjson.dumps({"query": "{ currentUser { username } }", "variables": {"x": [0] * 8_000_000}})
    headers = {"Authorization": f"token {alice.token}", "Content-Type": "application/json"}
    request = client.post("/.api/graphql", data=io.BytesIO(body), headers=headers)
    response, slowest = await slowest_healthz(client, request)
    assert response.status == 413 and slowest < RESPONSIVE, slowest
    assert "values" in (await response.json())["detail"]


async def test_nul_anywhere_in_a_publish_is_refused_and_changes_nothing(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    in_manifest = await src(client, alice.token, PUBLISH, publish_variables(manifest=package_json(title="a\u0000b")))
    assert in_manifest["errors"][0]["extensions"]["status"] == 422
    body = {"query": PUBLISH, "variables": publish_variables(bundle="x\u0000y")}
    in_variables = await client.post("/.api/graphql", json=body, headers={"Authorization": f"token {alice.token}"})
    assert in_variables.status == 422
    assert (await in_variables.json())["errors"][0]["pointer"] == "/variables/bundle"
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0


@pytest.mark.parametrize(
    "query",
    [
        '{ extensionRegistry { extension(extensionID: "a/\\u0000") { id } } }',
        '{ extensionRegistry { extensions(query: "\\u0000") { nodes { id } } } }',
        '{ node(id: "\\u0000") { id } }',
    ],
)
async def test_a_nul_written_into_the_query_text_is_refused(client: Client, query: str) -> None:
    answer = await src(client, None, query, {})
    assert "NUL" in answer["errors"][0]["message"] and "data" not in answer


async def test_one_answer_carries_a_bounded_amount_of_manifests(client: Client, db: asyncpg.Connection) -> None:
    """Manifests may be 1 MiB each; an anonymous list of 1,000 of them would be a gigabyte. 18
    manifests of ~480 KB pass the 8 MiB an answer may carry."""
    alice = await make_user(db, "alice")
    for n in range(18):
        readme = os.urandom(240_000).hex()  # as compressible as real text
        variables = publish_variables(extensionID=f"alice/big{n}", manifest=package_json(name=f"big{n}", readme=readme))
        assert "errors" not in await src(client, alice.token, PUBLISH, variables)
    ids_only = await src(client, None, "{ extensionRegistry { extensions { nodes { extensionID } } } }", {})
    assert len(ids_only["data"]["extensionRegistry"]["extensions"]["nodes"]) == 18
    manifests = "{ extensionRegistry { extensions(first: %d) { nodes { manifest { raw } } } } }"
    too_much = await src(client, None, manifests % 1000, {})
    assert too_much["errors"][0]["extensions"]["status"] == 413
    assert "errors" not in await src(client, None, manifests % 16, {})
