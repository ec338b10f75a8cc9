"""Settings: versions and history, JSONC kept as written, optimistic concurrency under real
concurrency, the cascade, the extensions it enables, who may read and write, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.domain.page import Column, CursorCodec
from tests.support.factories import UserFixture, auth, make_org, make_token, make_user
from tests.support.registry import publish

Client = TestClient[web.Request, web.Application]

_ANY_KEY = CursorCodec(Column.INT8)  # writes any key: the server must refuse the ones it did not issue


async def put(
    client: Client, path: str, headers: dict[str, str], contents: str, last_id: int | None, expect: int | None = None
) -> dict[str, Any]:
    response = await client.put(path, json={"contents": contents, "last_id": last_id}, headers=headers)
    body: dict[str, Any] = await response.json()
    if expect is not None:
        assert response.status == expect, body
    body["_status"] = response.status
    return body


async def get(client: Client, path: str, headers: dict[str, str], expect: int = 200) -> dict[str, Any]:
    response = await client.get(path, headers=headers)
    body: dict[str, Any] = await response.json()
    assert response.status == expect, body
    return body


async def settings_rows(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM settings")
    return count


async def test_a_subject_without_settings_has_empty_contents(client: Client, alice: UserFixture) -> None:
    body = await get(client, "/api/users/alice/settings", alice.headers)
    assert body == {
        "id": None,
        "subject": {"type": "user", "name": "alice"},
        "contents": "{}",
        "author": None,
        "created_at": None,
    }
    assert (await get(client, "/api/settings/global", alice.headers))["subject"] == {"type": "global", "name": None}


async def test_every_write_is_a_new_version_and_the_newest_wins(
    client: Client, db: asyncpg.Connection, alice: UserFixture, admin: UserFixture
) -> None:
    path = "/api/users/alice/settings"
    first = await put(client, path, alice.headers, '{"a": 1}', None, expect=201)
    second = await put(client, path, admin.headers, '{"a": 2}', first["id"], expect=200)
    third = await put(client, path, alice.headers, '{"a": 3}', second["id"], expect=200)
    assert first["id"] < second["id"] < third["id"]
    assert (second["author"], third["author"]) == ("root", "alice")
    current = await get(client, path, alice.headers)
    assert (current["id"], current["contents"], current["author"]) == (third["id"], '{"a": 3}', "alice")

    page = await get(client, path + "/history?limit=2", alice.headers)
    assert [v["contents"] for v in page["items"]] == ['{"a": 3}', '{"a": 2}']
    rest = await get(client, f"{path}/history?limit=2&cursor={page['next_cursor']}", alice.headers)
    assert ([v["id"] for v in rest["items"]], rest["next_cursor"]) == ([first["id"]], None)
    assert await db.fetch("SELECT user_id, org_id, author_user_id FROM settings ORDER BY id") == [
        (alice.id, None, alice.id),
        (alice.id, None, admin.id),
        (alice.id, None, alice.id),
    ]


async def test_subjects_keep_separate_histories(
    client: Client, db: asyncpg.Connection, alice: UserFixture, admin: UserFixture
) -> None:
    await make_org(db, "acme", [alice])
    mine = await put(client, "/api/users/alice/settings", alice.headers, '{"who": "alice"}', None, expect=201)
    ours = await put(client, "/api/orgs/acme/settings", alice.headers, '{"who": "acme"}', None, expect=201)
    site = await put(client, "/api/settings/global", admin.headers, '{"who": "site"}', None, expect=201)
    # Another subject's id is not this subject's current version.
    await put(client, "/api/orgs/acme/settings", alice.headers, "{}", mine["id"], expect=409)
    assert (await get(client, "/api/orgs/ACME/settings", alice.headers))["id"] == ours["id"]
    assert (await get(client, "/api/settings/global", alice.headers))["contents"] == '{"who": "site"}'
    history = await get(client, "/api/settings/global/history", alice.headers)
    assert [v["id"] for v in history["items"]] == [site["id"]]
    assert await db.fetchval("SELECT org_id IS NULL AND user_id IS NULL FROM settings WHERE id = $1", site["id"])


JSONC = (
    "// Editor settings\r\n"
    "{\n"
    '\t"editor.fontSize": 14, /* pixels */\n'
    '  "extensions": {\n'
    '    "alice/word-count": true,   // trailing comma next\n'
    "  },\n"
    '  "greeting": "héllo \\u00e9 ✓ 🎉",\n'
    '  "list": [1, 2, 3,],\n'
    "}\n"
    "   "
)


async def test_jsonc_is_accepted_and_kept_byte_for_byte(
    client: Client, db: asyncpg.Connection, alice: UserFixture
) -> None:
    written = await put(client, "/api/users/alice/settings", alice.headers, JSONC, None, expect=201)
    assert written["contents"] == JSONC
    response = await client.get("/api/users/alice/settings", headers=alice.headers)
    assert (await response.json())["contents"] == JSONC
    assert await db.fetchval("SELECT contents FROM settings") == JSONC
    merged = (await get(client, "/api/user/settings/cascade", alice.headers))["merged"]
    assert merged == {
        "editor.fontSize": 14,
        "extensions": {"alice/word-count": True},
        "greeting": "héllo é ✓ 🎉",
        "list": [1, 2, 3],
    }


async def test_of_twenty_concurrent_writers_of_one_version_exactly_one_wins(
    client: Client, db: asyncpg.Connection, alice: UserFixture
) -> None:
    await make_org(db, "acme", [alice])
    path = "/api/orgs/acme/settings"
    base = await put(client, path, alice.headers, '{"n": 0}', None, expect=201)
    results = await asyncio.gather(
        *(put(client, path, alice.headers, f'{{"n": {n}}}', base["id"]) for n in range(1, 21))
    )
    statuses = sorted(result["_status"] for result in results)
    assert statuses == [200] + [409] * 19
    winner = next(result for result in results if result["_status"] == 200)
    assert {result["current_id"] for result in results if result["_status"] == 409} == {winner["id"]}
    assert await settings_rows(db) == 2
    history = await get(client, path + "/history", alice.headers)
    assert [v["id"] for v in history["items"]] == [winner["id"], base["id"]]
    assert (await get(client, path, alice.headers))["contents"] == winner["contents"]


async def test_of_twenty_concurrent_first_writers_exactly_one_wins(
    client: Client, db: asyncpg.Connection, admin: UserFixture
) -> None:
    results = await asyncio.gather(
        *(put(client, "/api/settings/global", admin.headers, f'{{"n": {n}}}', None) for n in range(20))
    )
    assert sorted(result["_status"] for result in results) == [201] + [409] * 19
    assert await settings_rows(db) == 1


async def test_the_cascade_merges_global_then_orgs_by_name_then_the_user(
    client: Client, db: asyncpg.Connection, alice: UserFixture, admin: UserFixture, bob: UserFixture
) -> None:
    await make_org(db, "zeta", [alice])  # created first: id order is not name order
    await make_org(db, "Beta", [alice])
    await make_org(db, "other", [bob])  # not alice's: not in her cascade
    site = await put(
        client,
        "/api/settings/global",
        admin.headers,
        '{"theme": "light", "nested": {"a": 1, "b": 1, "c": 1}, "list": [1, 2], "site": true}',
        None,
        expect=201,
    )
    zeta = await put(client, "/api/orgs/zeta/settings", alice.headers, '{"nested": {"b": 3}, "org": "zeta"}', None)
    beta = await put(
        client, "/api/orgs/beta/settings", alice.headers, '{"nested": {"b": 2, "c": 2}, "org": "beta"}', None
    )
    await put(client, "/api/orgs/other/settings", bob.headers, '{"theme": "bob"}', None, expect=201)
    mine = await put(
        client,
        "/api/users/alice/settings",
        alice.headers,
        '// mine\n{"theme": "dark", "list": [3], "nested": {"c": 4, "d": {"x": 1}},}',
        None,
        expect=201,
    )
    body = await get(client, "/api/user/settings/cascade", alice.headers)
    assert body["subjects"] == [
        {"type": "global", "name": None, "id": site["id"]},
        {"type": "org", "name": "Beta", "id": beta["id"]},
        {"type": "org", "name": "zeta", "id": zeta["id"]},
        {"type": "user", "name": "alice", "id": mine["id"]},
    ]
    assert body["merged"] == {
        "theme": "dark",
        "nested": {"a": 1, "b": 3, "c": 4, "d": {"x": 1}},
        "list": [3],
        "site": True,
        "org": "zeta",
    }
    # A user with no settings of their own and no orgs gets the global settings.
    carol = await make_user(db, "carol")
    body = await get(client, "/api/user/settings/cascade", carol.headers)
    assert body["subjects"] == [
        {"type": "global", "name": None, "id": site["id"]},
        {"type": "user", "name": "carol", "id": None},
    ]
    assert body["merged"]["theme"] == "light"


async def test_a_write_that_would_put_anyone_s_cascade_past_its_bound_is_refused(
    client: Client, db: asyncpg.Connection
) -> None:
    alice, bob = await make_user(db, "alice"), await make_user(db, "bob")
    root = await make_user(db, "root", site_admin=True)
    wide = "{" + ",".join(f'"k{n}": "{n:0>24}"' for n in range(7000)) + "}"  # ~240 KB as parsed
    for n in range(4):
        await make_org(db, f"org{n}", [alice])
        await put(client, f"/api/orgs/org{n}/settings", alice.headers, wide, None, expect=201)
    await make_org(db, "shared", [alice, bob])
    refused = [
        await put(client, "/api/orgs/shared/settings", bob.headers, wide, None, expect=413),  # Bob's would fit
        await put(client, "/api/users/alice/settings", alice.headers, wide, None, expect=413),
        await put(client, "/api/settings/global", root.headers, wide, None, expect=413),
    ]
    assert {body["max_cascade_bytes"] for body in refused} == {1024 * 1024}
    assert all(body["cascade_bytes"] > 1024 * 1024 for body in refused)
    await put(client, "/api/users/bob/settings", bob.headers, wide, None, expect=201)
    await put(client, "/api/orgs/org3/settings", alice.headers, '{"small": 1}', 4, expect=200)  # a smaller one fits
    await put(client, "/api/settings/global", root.headers, wide, None, expect=201)


async def test_enabled_extensions_come_from_the_cascade_with_their_latest_release(
    client: Client, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    await publish(client, alice.headers, "alice/word-count", "1.0.0")
    latest = await publish(client, alice.headers, "alice/word-count", "1.2.0")
    await publish(client, bob.headers, "bob/linter", "0.1.0")
    await publish(client, bob.headers, "bob/gone", "1.0.0")
    assert (await client.delete("/api/extensions/bob/gone", headers=bob.headers)).status == 204
    await put(
        client,
        "/api/settings/global",
        admin.headers,
        '{"extensions": {"alice/word-count": true, "bob/linter": true, "bob/gone": true}}',
        None,
        expect=201,
    )
    await put(
        client,
        "/api/users/alice/settings",
        alice.headers,
        """{
          "extensions": {
            "bob/linter": false, // turned off again
            "carol/missing": true,
            "not-an-id": true,
          },
        }""",
        None,
        expect=201,
    )
    body = await get(client, "/api/user/extensions", alice.headers)
    assert [e["extension_id"] for e in body["extensions"]] == ["alice/word-count"]
    release = body["extensions"][0]["release"]
    assert (release["id"], release["version"]) == (latest["id"], "1.2.0")
    assert sorted(body["missing"]) == ["bob/gone", "carol/missing", "not-an-id"]
    bundle = await client.get(release["bundle_url"].removeprefix(str(client.make_url(""))))
    assert bundle.status == 200
    assert "1.2.0" in await bundle.text()
    # Bob's cascade is the global one alone: the linter is on for him.
    enabled = await get(client, "/api/user/extensions", bob.headers)
    assert [e["extension_id"] for e in enabled["extensions"]] == ["alice/word-count", "bob/linter"]


async def test_no_extensions_key_enables_nothing(client: Client, alice: UserFixture) -> None:
    await put(client, "/api/users/alice/settings", alice.headers, '{"extensions": [1]}', None, expect=201)
    assert await get(client, "/api/user/extensions", alice.headers) == {"extensions": [], "missing": []}


# Authorization: alice (the user subject, member of acme), carol (fellow member of acme), bob (a
# stranger), root (a site admin), and alice's publish-only token.
ACTORS = ("anonymous", "publish_token", "stranger", "self", "org_member", "site_admin")
SUBJECTS = {"global": "/api/settings/global", "org": "/api/orgs/acme/settings", "user": "/api/users/alice/settings"}
# fmt: off
#                              anonymous publish stranger self member admin
EXPECTED: dict[tuple[str, str], tuple[int, ...]] = {
    ("global", "read"):        (401,     403,    200,     200,  200,   200),
    ("global", "write"):       (401,     403,    403,     403,  403,   201),
    ("org", "read"):           (401,     403,    403,     200,  200,   200),
    ("org", "write"):          (401,     403,    403,     201,  201,   201),
    ("user", "read"):          (401,     403,    403,     200,  403,   200),
    ("user", "write"):         (401,     403,    403,     201,  403,   201),
}
# fmt: on
AUTH_CASES = [
    (subject, action, actor, EXPECTED[(subject, action)][column])
    for subject, action in EXPECTED
    for column, actor in enumerate(ACTORS)
]


async def _world(db: asyncpg.Connection) -> dict[str, dict[str, str]]:
    alice = await make_user(db, "alice")
    carol = await make_user(db, "carol")
    bob = await make_user(db, "bob")
    root = await make_user(db, "root", site_admin=True)
    await make_org(db, "acme", [alice, carol])
    publish_token = await make_token(db, alice.id, ["registry:publish"])
    return {
        "anonymous": {},
        "publish_token": auth(publish_token),
        "stranger": bob.headers,
        "self": alice.headers,
        "org_member": carol.headers,
        "site_admin": root.headers,
    }


@pytest.mark.parametrize(
    ("subject", "action", "actor", "expected"), AUTH_CASES, ids=[f"{s}-{a}-{w}" for s, a, w, _ in AUTH_CASES]
)
async def test_authorization(
    client: Client, db: asyncpg.Connection, subject: str, action: str, actor: str, expected: int
) -> None:
    headers = (await _world(db))[actor]
    path = SUBJECTS[subject]
    if action == "read":
        for url in (path, path + "/history"):
            response = await client.get(url, headers=headers)
            assert response.status == expected, await response.text()
    else:
        response = await client.put(path, json={"contents": '{"x": 1}', "last_id": None}, headers=headers)
        assert response.status == expected, await response.text()
    if expected >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"
    assert await settings_rows(db) == (1 if expected == 201 else 0)


@pytest.mark.parametrize("path", ["/api/user/settings/cascade", "/api/user/extensions"])
async def test_the_cascade_needs_a_user_all_token(
    client: Client, db: asyncpg.Connection, alice: UserFixture, path: str
) -> None:
    assert (await client.get(path)).status == 401
    assert (await client.get(path, headers=auth(await make_token(db, alice.id, ["registry:publish"])))).status == 403
    assert (await client.get(path, headers=alice.headers)).status == 200


async def test_unknown_subjects_are_404(client: Client, admin: UserFixture) -> None:
    for path in ("/api/orgs/nope/settings", "/api/users/nope/settings", "/api/orgs/nope/settings/history"):
        assert (await client.get(path, headers=admin.headers)).status == 404
    assert (await client.get("/api/orgs/nope/settings")).status == 401  # credentials are checked first


# Bad input: (body, expected status, pointer of the first violation or None). Alice's settings
# hold one version (id 1) when each is sent.
BAD_BODIES: dict[str, tuple[Any, int, str | None]] = {
    "contents not a string": ({"contents": {"a": 1}, "last_id": 1}, 422, "/contents"),
    "contents missing": ({"last_id": 1}, 422, "/contents"),
    "last_id missing": ({"contents": "{}"}, 422, "/last_id"),
    "last_id a string": ({"contents": "{}", "last_id": "1"}, 422, "/last_id"),
    "last_id out of range": ({"contents": "{}", "last_id": 2**40}, 422, "/last_id"),
    "last_id zero": ({"contents": "{}", "last_id": 0}, 422, "/last_id"),
    "unknown field": ({"contents": "{}", "last_id": 1, "force": True}, 422, ""),
    "body not an object": (["{}"], 422, ""),
    "unparseable JSONC": ({"contents": '{"a": }', "last_id": 1}, 422, "/contents"),
    "unterminated comment": ({"contents": '{"a": 1} /* ', "last_id": 1}, 422, "/contents"),
    "an array": ({"contents": "[1, 2,]", "last_id": 1}, 422, "/contents"),
    "a string": ({"contents": '"hello"', "last_id": 1}, 422, "/contents"),
    "null": ({"contents": "null", "last_id": 1}, 422, "/contents"),
    "empty": ({"contents": "", "last_id": 1}, 422, "/contents"),
    "NaN": ({"contents": '{"a": NaN}', "last_id": 1}, 422, "/contents"),
    "integer over 64 bits": (
        {"contents": "{/* big */ a: 123456789012345678901234567890}", "last_id": 1},
        422,
        "/contents",
    ),
    "nested over 255 levels": ({"contents": '{"a":' * 300 + "1" + "}" * 300, "last_id": 1}, 422, "/contents"),
    "nested too deeply": ({"contents": "{/**/" + '"a":[' * 5000 + "]" * 5000 + "}", "last_id": 1}, 422, "/contents"),
    "NUL character": ({"contents": '{"a": "\\u0000"} \u0000', "last_id": 1}, 422, "/contents"),
    "over 256 KiB": ({"contents": '{"a": "' + "x" * 262144 + '"}', "last_id": 1}, 422, "/contents"),
    "stale last_id": ({"contents": "{}", "last_id": None}, 409, None),
    "unknown last_id": ({"contents": "{}", "last_id": 99}, 409, None),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_bad_input_writes_nothing(client: Client, db: asyncpg.Connection, alice: UserFixture, case: str) -> None:
    first = await put(client, "/api/users/alice/settings", alice.headers, '{"a": 1}', None, expect=201)
    assert first["id"] == 1
    body, status, pointer = BAD_BODIES[case]
    response = await client.put("/api/users/alice/settings", json=body, headers=alice.headers)
    problem = await response.json()
    assert response.status == status, problem
    assert response.headers["Content-Type"] == "application/problem+json"
    if pointer is not None:
        assert problem["errors"][0]["pointer"] == pointer
    if status == 409:
        assert problem["current_id"] == 1
    assert await settings_rows(db) == 1


@pytest.mark.parametrize(
    ("contents", "reason"),
    [
        ('{"a": "\\ud800"}', "holds an unpaired UTF-16 surrogate escape"),
        ('{"\\udfff": 1, }', "holds an unpaired UTF-16 surrogate escape"),
        ("{a: 123456789012345678901234567890}", "holds an integer over 64 bits"),
        ('{"a":' * 300 + "1" + "}" * 300, "nests too deeply"),
    ],
)
async def test_settings_json_cannot_carry_are_refused_saying_why(
    client: Client, alice: UserFixture, contents: str, reason: str
) -> None:
    response = await client.put("/api/users/alice/settings", json={"contents": contents, "last_id": None},
                                headers=alice.headers)  # fmt: skip
    problem = await response.json()
    assert response.status == 422 and problem["errors"][0]["pointer"] == "/contents", problem
    assert f"must be JSONC for a JSON object: it {reason}" in problem["errors"][0]["message"], problem


@pytest.mark.parametrize(
    ("path", "data", "content_type", "status"),
    [
        ("/api/users/alice/settings", b'{"contents": "{}", ', "application/json", 400),
        ("/api/users/alice/settings", b'{"contents": "{}", "last_id": null}', "text/plain", 415),
        ("/api/orgs/nope/settings", b'{"contents": "{}", "last_id": null}', "application/json", 404),
        ("/api/users/nope/settings", b'{"contents": "{}", "last_id": null}', "application/json", 404),
        (f"/api/users/alice/settings/history?cursor={_ANY_KEY.encode([2**40])}", None, None, 400),
        (f"/api/users/alice/settings/history?cursor={_ANY_KEY.encode(['x'])}", None, None, 400),
        ("/api/users/alice/settings/history?limit=0", None, None, 400),
    ],
)
async def test_malformed_requests_write_nothing(
    client: Client, db: asyncpg.Connection, path: str, data: bytes | None, content_type: str | None, status: int
) -> None:
    alice: UserFixture = await make_user(db, "alice", site_admin=True)
    if data is None:
        response = await client.get(path, headers=alice.headers)
    else:
        headers = {**alice.headers, "Content-Type": str(content_type)}
        response = await client.put(path, data=data, headers=headers)
    assert response.status == status, await response.text()
    assert await settings_rows(db) == 0
