"""Access tokens: creation, scopes, sha256 at rest, deletion, sudo, malformed headers, throttling."""

from __future__ import annotations

import hashlib
import re

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.config import Config
from tests.conftest import AppFactory
from tests.support.factories import UserFixture, auth, basic, make_token, make_user

Client = TestClient[web.Request, web.Application]
ALL = {"note": "laptop", "scopes": ["user:all"]}


async def test_a_token_is_created_with_a_password_and_shown_once(client: Client, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    response = await client.post(
        "/api/tokens", json={"note": "ci", "scopes": ["registry:publish"]}, headers=basic("alice")
    )
    assert response.status == 201
    assert response.headers["Cache-Control"] == "no-store"
    created = await response.json()
    assert re.fullmatch(r"wharf_[A-Za-z0-9_-]{43}", created["token"])
    assert created["scopes"] == ["registry:publish"]
    stored = await db.fetchval("SELECT value_sha256 FROM access_tokens WHERE id = $1", created["id"])
    assert bytes(stored) == hashlib.sha256(created["token"].encode()).digest()

    listing = await client.get("/api/tokens", headers=auth(created["token"]))
    assert listing.status == 403, "a registry:publish token cannot list tokens"


async def test_listing_shows_notes_and_scopes_never_values(client: Client, alice: UserFixture) -> None:
    created = await (await client.post("/api/tokens", json=ALL, headers=alice.headers)).json()
    listing = await client.get("/api/tokens", headers=alice.headers)
    assert listing.status == 200
    body = await listing.json()
    assert [t["note"] for t in body["items"]] == ["test", "laptop"]
    assert created["token"] not in await listing.text()
    assert all("token" not in item for item in body["items"])


async def test_tokens_list_in_pages(client: Client, db: asyncpg.Connection, alice: UserFixture) -> None:
    for _ in range(4):
        await make_token(db, alice.id)
    first = await (await client.get("/api/tokens?limit=2", headers=alice.headers)).json()
    second = await (
        await client.get(f"/api/tokens?limit=2&cursor={first['next_cursor']}", headers=alice.headers)
    ).json()
    third = await (
        await client.get(f"/api/tokens?limit=2&cursor={second['next_cursor']}", headers=alice.headers)
    ).json()
    ids = [t["id"] for page in (first, second, third) for t in page["items"]]
    assert ids == sorted(set(ids)) and len(ids) == 5
    assert third["next_cursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=x", "cursor=%%%", "cursor=WyJhIl0", "cursor=e30"])
async def test_bad_paging_parameters_are_400(client: Client, alice: UserFixture, query: str) -> None:
    response = await client.get(f"/api/tokens?{query}", headers=alice.headers)
    assert response.status == 400


async def test_a_deleted_token_fails_on_the_very_next_request(
    client: Client, db: asyncpg.Connection, alice: UserFixture
) -> None:
    spare = await make_token(db, alice.id)
    spare_id = await db.fetchval("SELECT max(id) FROM access_tokens")
    assert (await client.delete(f"/api/tokens/{spare_id}", headers=auth(spare))).status == 204
    response = await client.get("/api/user", headers=auth(spare))
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get("/api/user", headers=alice.headers)).status == 200


async def test_other_users_tokens_are_404_but_site_admins_may_delete_them(
    client: Client, db: asyncpg.Connection, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    bob_token_id = await db.fetchval("SELECT id FROM access_tokens WHERE subject_user_id = $1", bob.id)
    assert (await client.delete(f"/api/tokens/{bob_token_id}", headers=alice.headers)).status == 404
    assert (await client.delete("/api/tokens/999999", headers=alice.headers)).status == 404
    assert (await client.delete("/api/tokens/abc", headers=alice.headers)).status == 400
    assert (await client.delete(f"/api/tokens/{bob_token_id}", headers=admin.headers)).status == 204
    assert (await client.get("/api/user", headers=bob.headers)).status == 401


@pytest.mark.parametrize(
    "body",
    [
        {"note": "n", "scopes": []},
        {"note": "n", "scopes": ["everything"]},
        {"note": "n", "scopes": ["user:all", "user:all"]},
        {"note": "", "scopes": ["user:all"]},
        {"note": "n" * 256, "scopes": ["user:all"]},
        {"scopes": ["user:all"]},
        {"note": "n", "scopes": "user:all"},
    ],
)
async def test_invalid_token_requests_are_422_and_create_nothing(
    client: Client, db: asyncpg.Connection, alice: UserFixture, body: dict[str, object]
) -> None:
    response = await client.post("/api/tokens", json=body, headers=alice.headers)
    assert response.status == 422
    assert await db.fetchval("SELECT count(*) FROM access_tokens") == 1


async def test_only_site_admins_grant_sudo_and_sudo_acts_as_the_named_user(
    client: Client, db: asyncpg.Connection, alice: UserFixture, admin: UserFixture
) -> None:
    sudo_body = {"note": "ops", "scopes": ["site-admin:sudo"]}
    assert (await client.post("/api/tokens", json=sudo_body, headers=alice.headers)).status == 403
    sudo = await (await client.post("/api/tokens", json=sudo_body, headers=admin.headers)).json()

    as_alice = {"Authorization": f'token-sudo user="alice",token="{sudo["token"]}"'}
    me = await client.get("/api/user", headers=as_alice)
    assert (await me.json())["username"] == "alice"
    created = await client.post("/api/tokens", json=ALL, headers=as_alice)
    assert created.status == 201
    assert (await created.json())["creator"] == "root", "the token records the admin who made it"

    plain_admin_token = {"Authorization": f'token-sudo user="alice",token="{admin.token}"'}
    assert (await client.get("/api/user", headers=plain_admin_token)).status == 403
    nobody = {"Authorization": f'token-sudo user="nobody",token="{sudo["token"]}"'}
    assert (await client.get("/api/user", headers=nobody)).status == 401
    await db.execute("UPDATE users SET site_admin = false WHERE id = $1", admin.id)
    assert (await client.get("/api/user", headers=as_alice)).status == 403, "sudo ends with admin rights"


@pytest.mark.parametrize(
    "header",
    [
        "token",
        "Bearer ",
        "token not a token!",
        "token " + "a" * 500,
        "Basic !!!",
        "Basic " + "YWxpY2U=",  # "alice" without a colon
        "Digest username=alice",
        "token-sudo user=alice,token=x",
        'token-sudo user="",token="x"',
        "token wharf_unknown",
    ],
)
async def test_malformed_or_unknown_credentials_are_401_problems(
    client: Client, db: asyncpg.Connection, header: str
) -> None:
    await make_user(db, "alice")
    response = await client.get("/api/user", headers={"Authorization": header})
    assert response.status == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "Bearer" in response.headers["WWW-Authenticate"]


async def test_bad_credentials_are_refused_even_on_public_routes(client: Client, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    assert (await client.get("/api/users/alice", headers={"Authorization": "token wharf_nope"})).status == 401


async def test_passwords_are_accepted_only_to_create_tokens(client: Client, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    response = await client.get("/api/user", headers=basic("alice"))
    assert response.status == 401
    assert "only to create a token" in (await response.json())["detail"]


async def test_a_publish_token_cannot_create_tokens_or_edit_a_profile(
    client: Client, db: asyncpg.Connection, alice: UserFixture
) -> None:
    publish = auth(await make_token(db, alice.id, ["registry:publish"]))
    assert (await client.post("/api/tokens", json=ALL, headers=publish)).status == 403
    assert (await client.patch("/api/users/alice", json={"display_name": "x"}, headers=publish)).status == 403


async def test_last_used_at_is_recorded_at_most_once_a_minute(
    client: Client, db: asyncpg.Connection, alice: UserFixture
) -> None:
    assert await db.fetchval("SELECT last_used_at FROM access_tokens") is None
    await client.get("/api/user", headers=alice.headers)
    first = await db.fetchval("SELECT last_used_at FROM access_tokens")
    assert first is not None
    await client.get("/api/user", headers=alice.headers)
    assert await db.fetchval("SELECT last_used_at FROM access_tokens") == first
    await db.execute("UPDATE access_tokens SET last_used_at = now() - interval '2 minutes'")
    await client.get("/api/user", headers=alice.headers)
    assert await db.fetchval("SELECT last_used_at > now() - interval '1 minute' FROM access_tokens")


async def test_token_lookup_uses_the_hash_index(db: asyncpg.Connection, alice: UserFixture) -> None:
    await db.execute(
        "INSERT INTO access_tokens (subject_user_id, creator_user_id, value_sha256, note, scopes)"
        " SELECT $1, $1, sha256(n::text::bytea), 'bulk', '{user:all}' FROM generate_series(1, 5000) n",
        alice.id,
    )
    await db.execute("ANALYZE access_tokens")
    plan = await db.fetchval(
        "EXPLAIN SELECT id FROM access_tokens WHERE value_sha256 = $1 AND deleted_at IS NULL", b"\x00" * 32
    )
    assert "access_tokens_lookup" in plan


async def test_failed_passwords_are_throttled_per_username(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    config = Config(
        database_url=db_url, access_log=False, bcrypt_cost=4, auth_failures_per_user=3, auth_failures_per_address=100
    )
    client = await make_client(config)
    await make_user(db, "alice")
    statuses = [
        (await client.post("/api/tokens", json=ALL, headers=basic("alice", "wrong guess"))).status for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    throttled = await client.post("/api/tokens", json=ALL, headers=basic("alice"))
    assert throttled.status == 429, "even the right password waits out the window"
    assert int(throttled.headers["Retry-After"]) > 0
    assert (await client.post("/api/tokens", json=ALL, headers=basic("ALICE"))).status == 429


async def test_failed_tokens_are_throttled_per_address_but_a_valid_token_always_works(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    config = Config(database_url=db_url, access_log=False, bcrypt_cost=4, auth_failures_per_address=5)
    client = await make_client(config)
    alice = await make_user(db, "alice")
    statuses = [(await client.get("/api/user", headers=auth(f"wharf_guess{n}"))).status for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert (await client.get("/api/user", headers=alice.headers)).status == 200, "behind one proxy: everyone"
    assert (await client.get("/api/user", headers=auth("wharf_guess9"))).status == 429, "successes forgive nothing"
    created = await client.post("/api/tokens", json=ALL, headers=basic("alice"))
    assert created.status == 201, "bad tokens do not spend the address's password budget"
