"""Email addresses: added unverified, verified with the mailed code, owned by one user once verified."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import make_user

Client = TestClient[web.Request, web.Application]


async def _code(db: asyncpg.Connection, email: str, user_id: int) -> str:
    code: str = await db.fetchval(
        "SELECT verification_code FROM user_emails WHERE email = $1 AND user_id = $2", email, user_id
    )
    return code


async def test_an_added_address_is_verified_with_the_mailed_code(
    client: Client, db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await make_user(db, "alice")
    with caplog.at_level(logging.INFO, logger="wharf.mail"):
        added = await client.post("/api/users/alice/emails", json={"email": "Alice@Example.com"}, headers=alice.headers)
    assert added.status == 201
    assert (await added.json())["verified_at"] is None
    code = await _code(db, "alice@example.com", alice.id)
    assert code in caplog.text, "the code is mailed (the log mailer is the outbox)"
    assert code not in await added.text()

    wrong = await client.post(
        "/api/users/alice/emails/verify", json={"email": "alice@example.com", "code": "nope"}, headers=alice.headers
    )
    assert wrong.status == 422
    right = await client.post(
        "/api/users/alice/emails/verify", json={"email": "alice@example.com", "code": code}, headers=alice.headers
    )
    assert right.status == 200
    assert (await right.json())["verified_at"] is not None
    again = await client.post(
        "/api/users/alice/emails/verify", json={"email": "alice@example.com", "code": code}, headers=alice.headers
    )
    assert again.status == 200, "verifying twice is harmless"


async def test_an_address_is_added_once_per_user(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice", email="alice@example.com")
    response = await client.post("/api/users/alice/emails", json={"email": "ALICE@example.com"}, headers=alice.headers)
    assert response.status == 409


async def test_a_verified_address_belongs_to_one_user(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice", email="shared@example.com")
    bob = await make_user(db, "bob", email="shared@example.com")
    body = {"email": "shared@example.com", "code": "code"}
    assert (await client.post("/api/users/alice/emails/verify", json=body, headers=alice.headers)).status == 200
    response = await client.post("/api/users/bob/emails/verify", json=body, headers=bob.headers)
    assert response.status == 409
    assert (await response.json())["detail"] == "That email address is verified by another user."
    assert await db.fetchval("SELECT verified_at FROM user_emails WHERE user_id = $1", bob.id) is None


async def test_site_admins_verify_without_a_code_and_users_cannot(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice", email="alice@example.com")
    admin = await make_user(db, "root", site_admin=True)
    body = {"email": "alice@example.com"}
    assert (await client.post("/api/users/alice/emails/verify", json=body, headers=alice.headers)).status == 422
    assert (await client.post("/api/users/alice/emails/verify", json=body, headers=admin.headers)).status == 200


async def test_addresses_are_listed_and_removed_by_their_owner(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice", email="alice@example.com")
    bob = await make_user(db, "bob")
    assert (await client.get("/api/users/alice/emails", headers=bob.headers)).status == 403
    listing = await (await client.get("/api/users/alice/emails", headers=alice.headers)).json()
    assert [e["email"] for e in listing["items"]] == ["alice@example.com"]
    assert (await client.delete("/api/users/alice/emails/alice@example.com", headers=bob.headers)).status == 403
    assert (await client.delete("/api/users/alice/emails/alice@example.com", headers=alice.headers)).status == 204
    assert (await client.delete("/api/users/alice/emails/alice@example.com", headers=alice.headers)).status == 404
    assert (
        await client.post(
            "/api/users/alice/emails/verify", json={"email": "x@example.com", "code": "c"}, headers=alice.headers
        )
    ).status == 404
