"""Hostile input is refused by the one validation layer with 4xx problem+json, never a 500:
NUL characters, nesting too deep to store, numbers and timestamps PostgreSQL cannot
hold, forged cursors, `format` and whole-string `pattern` checks. The costlier inputs are refused while /healthz
keeps answering within 100 ms."""

from __future__ import annotations

import base64
import json
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.auth.credentials import CHALLENGE
from tests.support.factories import make_org, make_token, make_user
from tests.support.registry import SOURCE_MAP, bundle_for, manifest, publish_form
from tests.support.responsive import RESPONSIVE, slowest_healthz

Client = TestClient[web.Request, web.Application]


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


async def _problem(response: Any, status: int) -> dict[str, Any]:
    body = await response.text()
    assert response.status == status, body
    assert response.content_type == "application/problem+json"
    parsed: dict[str, Any] = orjson.loads(body)
    return parsed


def _publish_body(**fields: Any) -> dict[str, Any]:
    return {
        "extension_id": "alice/word-count",
        "manifest": manifest(),
        "bundle": bundle_for("1.0.0"),
        "source_map": SOURCE_MAP,
        "version": "1.0.0",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"extension_id": "alice/word\x00count"}, "/extension_id"),
        ({"manifest": manifest(title="Word\x00count")}, "/manifest/title"),
        ({"manifest": orjson.dumps(manifest(title="Word\x00count")).decode()}, "/manifest/title"),
        ({"manifest": manifest(**{"x\x00": 1})}, "/manifest/x\x00"),
        ({"tag": "beta\x00"}, "/tag"),
        ({"manifest": manifest(deep=_nested(300))}, "/manifest/deep"),
        ({"manifest": manifest(big=2**63)}, "/manifest/big"),
    ],
)
async def test_publish_refuses_what_postgresql_cannot_store_with_422(
    client: Client, db: asyncpg.Connection, fields: dict[str, Any], pointer: str
) -> None:
    alice = await make_user(db, "alice")
    request = client.post("/api/publish", json=_publish_body(**fields), headers=alice.headers)
    response, slowest = await slowest_healthz(client, request)
    assert slowest < RESPONSIVE, slowest
    problem = await _problem(response, 422)
    assert problem["errors"][0]["pointer"].startswith(pointer.replace("\x00", "")[:8]), problem
    assert await db.fetchval("SELECT count(*) FROM registry_extensions") == 0


async def test_multipart_publish_refuses_nul_in_its_text_parts(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    form = publish_form("alice/word\x00count", "1.0.0")
    response = await client.post("/api/publish", data=form, headers=alice.headers)
    await _problem(response, 422)


@pytest.mark.parametrize("depth", [64, 255, 256, 600, 1023])
async def test_external_account_data_nested_too_deep_is_422(client: Client, db: asyncpg.Connection, depth: int) -> None:
    admin = await make_user(db, "root", site_admin=True)
    body = {"service_type": "github", "service_id": "https://github.com/", "client_id": "", "account_id": "1"}
    nested = '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)  # orjson itself stops at 255 levels
    request = client.post(
        "/api/users/root/external-accounts",
        data=orjson.dumps(body)[:-1] + b',"account_data":' + nested.encode() + b"}",
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    response, slowest = await slowest_healthz(client, request)
    assert slowest < RESPONSIVE, slowest
    problem = await _problem(response, 422)
    assert problem["errors"][0]["pointer"].startswith("/account_data"), problem


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:30:00+00:59",
        "9999-12-31T23:30:00-01:00",
        "0000-01-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-01T00:00:00",  # RFC 3339 needs an offset
    ],
)
async def test_saved_query_timestamps_postgresql_cannot_hold_are_422(
    client: Client, db: asyncpg.Connection, moment: str
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    body = {"query": "q", "last_executed": moment, "latest_result": "2024-01-01T00:00:00Z", "exec_duration_ns": 1}
    response = await client.put("/api/saved-queries", json=body, headers=admin.headers)
    problem = await _problem(response, 422)
    assert problem["errors"][0]["pointer"] == "/last_executed", problem


async def test_a_timestamp_at_the_edge_of_the_range_is_kept(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    body = {
        "query": "q",
        "last_executed": "0001-01-01T00:00:00Z",
        "latest_result": "9999-12-31T23:59:59+00:00",
        "exec_duration_ns": 2**63 - 1,
    }
    response = await client.put("/api/saved-queries", json=body, headers=admin.headers)
    assert response.status == 200, await response.text()


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 1e300, 9.3e18])
async def test_integers_beyond_bigint_are_422(client: Client, db: asyncpg.Connection, number: float) -> None:
    admin = await make_user(db, "root", site_admin=True)
    body = {"query": "q", "last_executed": "2024-01-01T00:00:00Z", "latest_result": "2024-01-01T00:00:00Z"}
    response = await client.put("/api/saved-queries", json={**body, "exec_duration_ns": number}, headers=admin.headers)
    problem = await _problem(response, 422)
    assert problem["errors"][0]["pointer"] == "/exec_duration_ns"


async def test_nul_in_a_key_anywhere_in_a_body_is_422(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    body = {"service_type": "github", "service_id": "https://github.com/", "client_id": "", "account_id": "1"}
    response = await client.post(
        "/api/users/root/external-accounts", json={**body, "auth_data": {"a": {"k\x00": 1}}}, headers=admin.headers
    )
    problem = await _problem(response, 422)
    assert problem["errors"][0]["pointer"] == "/auth_data/a/k\x00"


INT4_BEYOND, FLOAT4_BEYOND = 2**31, 3.5e38  # just past integer (serial ids) and real (similarity)


def _with_cursor(path: str, cursor: list[Any]) -> str:
    return f"{path}{'&' if '?' in path else '?'}cursor={_cursor(cursor)}"


async def _cursor_refused(response: Any) -> None:
    """400 naming the cursor, as problem+json from the API and as an HTML page from the site."""
    body = await response.text()
    assert response.status == 400, body
    assert "cursor is not one this server issued" in body


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/api/extensions?sort=name", ["a", 2**63]),
        ("/api/extensions?sort=name", ["a\x00", 1]),
        ("/api/extensions?sort=downloads", [2**63, 1]),
        ("/api/extensions?sort=updated", ["0001-01-01T00:00:00+01:00", 1]),
        ("/api/extensions?sort=updated", ["2024-01-01T00:00:00", 1]),
        ("/api/extensions?sort=name", [["a"], 1]),
        ("/api/extensions?sort=name", ["a", -(2**63) - 1]),
        ("/api/dependents?language=npm&package=lodash", [2**63, 1]),
        ("/api/dependents?language=npm&package=lodash", [1, 2**64]),
        ("/api/packages?language=npm&name=lodash", [2**63, 1]),
        ("/api/extensions", [1e400]),
        # ids are integer (serial) columns: a value beyond 32 bits is no id this server issued
        ("/api/extensions?sort=name", ["a", INT4_BEYOND]),
        ("/api/extensions?sort=name", ["a", -INT4_BEYOND - 1]),
        ("/api/extensions?sort=updated", ["2024-01-01T00:00:00Z", INT4_BEYOND]),
        ("/api/extensions?sort=downloads", [1, INT4_BEYOND]),
        ("/api/extensions?sort=downloads", [True, 1]),
        ("/", ["a", INT4_BEYOND]),
        ("/extensions?sort=downloads", [1, INT4_BEYOND]),
        ("/publishers/alice", ["a", INT4_BEYOND]),
        ("/api/dependents?language=npm&package=lodash", [INT4_BEYOND, 1]),
        ("/api/packages?language=npm&name=lodash", [INT4_BEYOND, 1]),
        ("/packages/npm/lodash", [INT4_BEYOND, 1]),
        # relevance is a real (float4) similarity
        ("/api/extensions?q=r", [FLOAT4_BEYOND, 1]),
        ("/api/extensions?q=r", [-FLOAT4_BEYOND, 1]),
        ("/api/extensions?q=r", [1e308, 1]),
        ("/api/extensions?q=r", [float("nan"), 1]),
        ("/api/extensions?q=r", [float("inf"), 1]),
        ("/api/extensions?q=r", ["0.5", 1]),
        ("/api/extensions?q=r", [0.5, INT4_BEYOND]),
        ("/extensions?q=r", [FLOAT4_BEYOND, 1]),
        ("/extensions?q=r", [1e308, 1]),
    ],
)
async def test_forged_cursors_are_400_for_anyone(
    client: Client, db: asyncpg.Connection, path: str, cursor: list[Any]
) -> None:
    await make_user(db, "alice")
    await _cursor_refused(await client.get(_with_cursor(path, cursor)))


@pytest.mark.parametrize("cursor", ["%00", "A" * 5000, "bm90IGpzb24"])
async def test_cursors_that_are_not_base64_json_are_400(client: Client, cursor: str) -> None:
    problem = await _problem(await client.get(f"/api/extensions?cursor={cursor}"), 400)
    assert "cursor" in problem["detail"]


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/api/saved-queries", ["q\x00"]),
        ("/api/saved-queries", [2**63]),
        ("/api/users/root/external-accounts", [2**63]),
        ("/api/users/root/external-accounts", [INT4_BEYOND]),
        ("/api/user/invitations", [2**63]),
        ("/api/discussions/reported-comments", [2**63, 1]),
        ("/api/discussions/reported-comments", [INT4_BEYOND, 1]),
        ("/api/orgs/acme/members", [INT4_BEYOND]),
        ("/api/orgs/acme/invitations", [2**63]),
        ("/api/phabricator-repos", [INT4_BEYOND]),
        ("/api/tokens", [2**63]),
        ("/api/tokens", [1.5]),
        ("/api/surveys", [2**63]),
        ("/api/cert-cache", [1]),
        ("/api/retired-names", [1]),
        ("/api/subscriptions", ["2024-01-01T00:00:00Z", "not a uuid"]),
    ],
)
async def test_forged_cursors_are_400_for_site_admins(
    client: Client, db: asyncpg.Connection, path: str, cursor: list[Any]
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    await make_org(db, "acme", [admin])
    await _cursor_refused(await client.get(_with_cursor(path, cursor), headers=admin.headers))


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/api/extensions?sort=name", ["a", 2**31 - 1]),
        ("/api/extensions?sort=name", ["a", -(2**31)]),
        ("/api/extensions?sort=downloads", [2**63 - 1, 1]),  # downloads is a bigint
        ("/api/extensions?q=r", [3.4028234663852886e38, 1]),  # the largest real
        ("/api/extensions?q=r", [1, 1]),
        ("/extensions?q=r", [-3.4028234663852886e38, 2**31 - 1]),
        ("/api/dependents?language=npm&package=lodash", [2**31 - 1, 2**63 - 1]),  # row ids are bigint
        ("/api/packages?language=npm&name=lodash", [1, INT4_BEYOND]),
        ("/api/tokens", [INT4_BEYOND]),  # access_tokens.id is a bigserial
        ("/api/user/invitations", [INT4_BEYOND]),
        ("/api/discussions/reported-comments", [1, INT4_BEYOND]),
    ],
)
async def test_cursors_within_their_columns_types_are_taken(
    client: Client, db: asyncpg.Connection, path: str, cursor: list[Any]
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    response = await client.get(_with_cursor(path, cursor), headers=admin.headers)
    assert response.status == 200, await response.text()


async def test_external_account_data_nested_within_the_bound_is_kept(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)  # only site admins link accounts
    body = {"service_type": "github", "service_id": "https://github.com/", "client_id": "", "account_id": "1"}
    response = await client.post(
        "/api/users/root/external-accounts", json={**body, "account_data": _nested(32)}, headers=admin.headers
    )
    assert response.status == 201, await response.text()


@pytest.mark.parametrize(
    "avatar_url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "https://",
        "https://exa mple.com/a.png",
        "https://example.com/a.png\n",
        "//example.com/a.png",
        "not a url",
    ],
)
async def test_uri_fields_take_only_absolute_http_urls(client: Client, db: asyncpg.Connection, avatar_url: str) -> None:
    alice = await make_user(db, "alice")
    response = await client.patch("/api/users/alice", json={"avatar_url": avatar_url}, headers=alice.headers)
    problem = await _problem(response, 422)
    assert problem["errors"][0]["pointer"] == "/avatar_url"
    ok = await client.patch(
        "/api/users/alice", json={"avatar_url": "https://example.com/a%20b.png?s=64"}, headers=alice.headers
    )
    assert ok.status == 200, await ok.text()


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"tag": "beta\n"}, "/tag"),
        ({"manifest": manifest(activationEvents=["*\n"])}, "/manifest/activationEvents/0"),
        ({"manifest": manifest(publisher="alice\n")}, "/manifest/publisher"),
    ],
)
async def test_patterns_match_the_whole_string_not_up_to_a_final_newline(
    client: Client, db: asyncpg.Connection, fields: dict[str, Any], pointer: str
) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/publish", json=_publish_body(**fields), headers=alice.headers)
    problem = await _problem(response, 422)
    assert problem["errors"][0]["pointer"] == pointer, problem
    assert await db.fetchval("SELECT count(*) FROM registry_extension_releases") == 0


@pytest.mark.parametrize(
    "path",
    ["/api/extensions?limit=%C2%B2", "/api/extensions?limit=%D9%A1", "/api/extensions/alice/x/downloads?days=%C2%B9"],
)
async def test_numbers_in_parameters_are_ascii_digits(client: Client, db: asyncpg.Connection, path: str) -> None:
    await _problem(await client.get(path), 400)


async def test_numeric_path_ids_are_ascii_digits(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await _problem(await client.delete("/api/tokens/%C2%B2", headers=alice.headers), 400)


@pytest.mark.parametrize(
    "period", ["until=0001-01-01T00:00:00%2B01:00", "until=0001-01-05T00:00:00Z", "since=9999-12-31T23:00:00-01:00"]
)
async def test_survey_periods_postgresql_cannot_hold_are_400(
    client: Client, db: asyncpg.Connection, period: str
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    await _problem(await client.get(f"/api/surveys?{period}", headers=admin.headers), 400)


def _incompressible(length: int) -> str:
    return "".join(chr(0x4E00 + (n * 7919) % 20000) for n in range(length))  # CJK, 3 bytes each in UTF-8


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/saved-queries",
            {
                "query": _incompressible(10000),
                "last_executed": "2024-01-01T00:00:00Z",
                "latest_result": "2024-01-01T00:00:00Z",
                "exec_duration_ns": 1,
            },
        ),
        (
            "/api/users/root/external-accounts",
            {
                "service_type": "github",
                "service_id": _incompressible(2048),
                "client_id": _incompressible(2048),
                "account_id": _incompressible(2048),
            },
        ),
    ],
)
async def test_values_too_long_for_an_index_entry_are_422(
    client: Client, db: asyncpg.Connection, path: str, body: dict[str, Any]
) -> None:
    admin = await make_user(db, "root", site_admin=True)
    method = client.put if path == "/api/saved-queries" else client.post
    problem = await _problem(await method(path, json=body, headers=admin.headers), 422)
    assert "too long" in problem["detail"]


def _basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


MALFORMED_AUTHORIZATION = [
    "Basic \xff\xfe",
    "Basic é",
    "Basic YWxpY2U6cHc\u00e9",
    "Basic ***",
    "Basic YWxpY2U6cHc",  # unpadded
    _basic(b"alice"),
    _basic(b":pw"),
    _basic(b"\xff\xfe:pw"),
    _basic(b"al\x00ice:pw"),
    _basic(b"alice:pw\x00"),
    _basic(b"alice:" + b"x" * 4000),
    _basic(b"x" * 4000 + b":pw"),
    "Basic " + "A" * 6000,
    "token \xff",
    "Bearer wharf_\u00e9",
    'token-sudo user="alice",token="\xff"',
    'token-sudo user="alice" ,token="abc"',
    "token-sudo user='alice',token='abc'",
    'token-sudo user="al"ice",token="abc"',
    'token-sudo user="alice",token="abc",',
    'token-sudo user="' + "a" * 300 + '",token="abc"',
    'token-sudo user="é\xff",token="abc"',
]


@pytest.mark.parametrize("header", MALFORMED_AUTHORIZATION)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/user"),
        ("GET", "/api/tokens"),
        ("POST", "/api/tokens"),
        ("POST", "/api/publish"),
        ("POST", "/.api/graphql"),
    ],
)
async def test_malformed_authorization_is_401_with_the_challenge(
    client: Client, db: asyncpg.Connection, header: str, method: str, path: str
) -> None:
    await make_user(db, "alice")
    response = await client.request(method, path, headers={"Authorization": header}, json={})
    assert response.status == 401, await response.text()
    assert response.headers["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("user", ["é\xff", "a" * 255, "al ice", "alice\t", "-alice", "\u0430lice"])
async def test_token_sudo_naming_what_can_be_no_user_is_401(client: Client, db: asyncpg.Connection, user: str) -> None:
    admin = await make_user(db, "root", site_admin=True)
    await make_user(db, "alice")
    sudo = await make_token(db, admin.id, ["site-admin:sudo"])
    response = await client.get("/api/user", headers={"Authorization": f'token-sudo user="{user}",token="{sudo}"'})
    assert response.status == 401, await response.text()
    assert response.headers["WWW-Authenticate"] == CHALLENGE
