"""Users: sign-up, the first site admin, profiles, renames, soft deletion."""

from __future__ import annotations

from typing import Any

import asyncpg
import bcrypt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.config import Config
from tests.conftest import AppFactory
from tests.support.factories import PASSWORD, auth, basic, make_org, make_token, make_user, row_counts

Client = TestClient[web.Request, web.Application]
ACCOUNT_TABLES = ("users", "names", "user_emails", "site_config", "orgs", "org_members", "access_tokens")


def signup(username: str = "alice", **extra: Any) -> dict[str, Any]:
    return {"username": username, "email": f"{username}@example.com", "password": PASSWORD, **extra}


async def test_the_first_user_becomes_site_admin_and_initializes_the_site(
    client: Client, db: asyncpg.Connection
) -> None:
    assert await db.fetchval("SELECT count(*) FROM site_config WHERE NOT initialized") == 1, "created on start"
    response = await client.post("/api/users", json=signup("alice", display_name="Alice"))
    assert response.status == 201
    assert response.headers["Location"] == "/api/users/alice"
    body = await response.json()
    assert body["site_admin"] is True
    assert body["display_name"] == "Alice"
    assert body["emails"] == [{"email": "alice@example.com", "created_at": body["created_at"], "verified_at": None}]
    assert await db.fetchval("SELECT initialized FROM site_config") is True
    assert await db.fetchval("SELECT user_id FROM names WHERE name = 'alice'") == body["id"]

    second = await (await client.post("/api/users", json=signup("bob"))).json()
    assert second["site_admin"] is False


async def test_passwords_are_stored_as_bcrypt_hashes(client: Client, db: asyncpg.Connection) -> None:
    await client.post("/api/users", json=signup("alice"))
    stored = await db.fetchval("SELECT passwd FROM users WHERE username = 'alice'")
    assert stored.startswith("$2b$04$")
    assert bcrypt.checkpw(PASSWORD.encode(), stored.encode())


async def test_usernames_are_unique_case_insensitively(client: Client) -> None:
    assert (await client.post("/api/users", json=signup("alice"))).status == 201
    response = await client.post("/api/users", json=signup("ALICE"))
    assert response.status == 409
    assert (await response.json())["detail"] == "That username is taken."


async def test_a_username_taken_by_an_org_is_refused(client: Client, db: asyncpg.Connection) -> None:
    await make_org(db, "acme")
    response = await client.post("/api/users", json=signup("Acme"))
    assert response.status == 409
    assert "taken by a user or an organization" in (await response.json())["detail"]
    assert await db.fetchval("SELECT count(*) FROM users") == 0, "the user row rolled back with the name"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"username": "-alice"}, "/username"),
        ({"username": "al--ice"}, "/username"),
        ({"username": "al ice"}, "/username"),
        ({"username": "a" * 256}, "/username"),
        ({"username": ""}, "/username"),
        ({"username": 42}, "/username"),
        ({"username": "ålice"}, "/username"),
        ({"email": "not-an-address"}, "/email"),
        ({"password": "short"}, "/password"),
        ({"password": "é" * 40}, "/password"),  # 40 characters, 80 bytes: over bcrypt's 72
        ({"display_name": "x" * 256}, "/display_name"),
        ({"site_admin": True}, ""),
        ({"username": None}, "/username"),
    ],
)
async def test_invalid_sign_ups_are_422_with_a_pointer_and_change_nothing(
    client: Client, db: asyncpg.Connection, body: dict[str, Any], pointer: str
) -> None:
    before = await row_counts(db, ACCOUNT_TABLES)
    response = await client.post("/api/users", json={**signup("valid"), **body})
    assert response.status == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = await response.json()
    assert pointer in [error["pointer"] for error in problem["errors"]]
    assert await row_counts(db, ACCOUNT_TABLES) == before


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 422),
        (b"username=alice", "application/x-www-form-urlencoded", 415),
        (b'"just a string"', "application/json", 422),
    ],
)
async def test_malformed_bodies_are_4xx(client: Client, data: bytes, content_type: str, status: int) -> None:
    response = await client.post("/api/users", data=data, headers={"Content-Type": content_type})
    assert response.status == status
    assert response.headers["Content-Type"] == "application/problem+json"


async def test_closed_sign_up_is_for_site_admins_only(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    client = await make_client(Config(database_url=db_url, access_log=False, bcrypt_cost=4, open_signup=False))
    admin = await make_user(db, "admin", site_admin=True)
    plain = await make_user(db, "plain")
    assert (await client.post("/api/users", json=signup("carol"))).status == 401
    assert (await client.post("/api/users", json=signup("carol"), headers=plain.headers)).status == 403
    assert (await client.post("/api/users", json=signup("carol"), headers=admin.headers)).status == 201


async def test_profiles_are_public_and_private_fields_are_for_self_and_admins(
    client: Client, db: asyncpg.Connection
) -> None:
    alice = await make_user(db, "alice", email="alice@example.com")
    bob = await make_user(db, "bob")
    admin = await make_user(db, "root", site_admin=True)
    public = await (await client.get("/api/users/ALICE")).json()
    assert set(public) == {"username", "display_name", "avatar_url", "created_at"}
    assert "emails" not in await (await client.get("/api/users/alice", headers=bob.headers)).json()
    for viewer in (alice, admin):
        private = await (await client.get("/api/users/alice", headers=viewer.headers)).json()
        assert private["emails"][0]["email"] == "alice@example.com"
    assert (await client.get("/api/users/nobody")).status == 404


async def test_me_answers_for_any_valid_token(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    publish = await make_token(db, alice.id, ["registry:publish"])
    for headers in (alice.headers, auth(publish)):
        response = await client.get("/api/user", headers=headers)
        assert response.status == 200
        assert (await response.json())["username"] == "alice"
    assert (await client.get("/api/user")).status == 401


async def test_rename_keeps_the_namespace_in_step(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    response = await client.patch("/api/users/alice", json={"username": "alicia"}, headers=alice.headers)
    assert response.status == 200
    assert (await response.json())["username"] == "alicia"
    assert await db.fetchval("SELECT name::text FROM names WHERE user_id = $1", alice.id) == "alicia"
    assert (await client.get("/api/users/alice")).status == 404
    assert (await client.post("/api/users", json=signup("alice"))).status == 201, "the old name is free"


async def test_rename_to_a_taken_name_conflicts_and_changes_nothing(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await make_user(db, "bob")
    await make_org(db, "acme")
    for taken in ("bob", "ACME"):
        response = await client.patch("/api/users/alice", json={"username": taken}, headers=alice.headers)
        assert response.status == 409
    assert await db.fetchval("SELECT username::text FROM users WHERE id = $1", alice.id) == "alice"


async def test_changing_ones_own_password_needs_the_current_one(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    new = {"password": "a brand new password"}
    assert (await client.patch("/api/users/alice", json=new, headers=alice.headers)).status == 422
    wrong = {**new, "current_password": "not it at all"}
    assert (await client.patch("/api/users/alice", json=wrong, headers=alice.headers)).status == 422
    right = {**new, "current_password": PASSWORD}
    assert (await client.patch("/api/users/alice", json=right, headers=alice.headers)).status == 200
    token = await client.post(
        "/api/tokens", json={"note": "n", "scopes": ["user:all"]}, headers=basic("alice", new["password"])
    )
    assert token.status == 201


async def test_site_admins_grant_site_admin_and_the_last_one_stays(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    alice = await make_user(db, "alice")
    assert (await client.patch("/api/users/alice", json={"site_admin": True}, headers=alice.headers)).status == 403
    assert (await client.patch("/api/users/root", json={"site_admin": False}, headers=admin.headers)).status == 409
    assert (await client.delete("/api/users/root", headers=admin.headers)).status == 409
    assert (await client.patch("/api/users/alice", json={"site_admin": True}, headers=admin.headers)).status == 200
    assert (await client.patch("/api/users/root", json={"site_admin": False}, headers=admin.headers)).status == 200


async def test_soft_delete_frees_the_username_and_ends_the_tokens(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    assert (await client.delete("/api/users/alice", headers=alice.headers)).status == 204
    assert await db.fetchval("SELECT deleted_at IS NOT NULL FROM users WHERE id = $1", alice.id)
    assert (await client.get("/api/user", headers=alice.headers)).status == 401
    assert (await client.get("/api/users/alice")).status == 404
    again = await client.post("/api/users", json=signup("alice"))
    assert again.status == 201
    assert (await again.json())["id"] != alice.id


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
async def test_existing_bcrypt_hashes_of_every_variant_verify(
    client: Client, db: asyncpg.Connection, prefix: str
) -> None:
    alice = await make_user(db, "alice")
    legacy = bcrypt.hashpw(b"legacy password", bcrypt.gensalt(4)).decode().replace("$2b$", prefix, 1)
    await db.execute("UPDATE users SET passwd = $1 WHERE id = $2", legacy, alice.id)
    response = await client.post(
        "/api/tokens", json={"note": "n", "scopes": ["user:all"]}, headers=basic("alice", "legacy password")
    )
    assert response.status == 201
