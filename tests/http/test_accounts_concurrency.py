"""Real parallel requests against one database: exactly one winner, every loser a 409."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import PASSWORD, make_org, make_user

Client = TestClient[web.Request, web.Application]
N = 20


async def test_simultaneous_sign_ups_of_one_username_have_one_winner(client: Client, db: asyncpg.Connection) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/users",
                json={
                    "username": "Popular" if n % 2 else "popular",
                    "email": f"p{n}@example.com",
                    "password": PASSWORD,
                },
            )
            for n in range(N)
        )
    )
    assert sorted(r.status for r in responses) == [201] + [409] * (N - 1)
    assert await db.fetchval("SELECT count(*) FROM users") == 1
    assert await db.fetchval("SELECT count(*) FROM names") == 1
    assert await db.fetchval("SELECT count(*) FROM user_emails") == 1
    assert await db.fetchval("SELECT count(*) FROM users WHERE site_admin") == 1


async def test_simultaneous_first_sign_ups_make_one_site_admin(client: Client, db: asyncpg.Connection) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/api/users", json={"username": f"user{n}", "email": f"u{n}@example.com", "password": PASSWORD})
            for n in range(N)
        )
    )
    assert [r.status for r in responses] == [201] * N
    assert await db.fetchval("SELECT count(*) FROM users WHERE site_admin") == 1
    assert await db.fetchval("SELECT count(*) FROM site_config") == 1


async def test_simultaneous_invitations_of_one_user_leave_one_pending(client: Client, db: asyncpg.Connection) -> None:
    inviters = [await make_user(db, f"member{n}") for n in range(N)]
    await make_user(db, "bob")
    await make_org(db, "acme", inviters)
    responses = await asyncio.gather(
        *(client.post("/api/orgs/acme/invitations", json={"username": "bob"}, headers=m.headers) for m in inviters)
    )
    assert sorted(r.status for r in responses) == [201] + [409] * (N - 1)
    pending = await db.fetchval("SELECT id FROM org_invitations WHERE responded_at IS NULL AND revoked_at IS NULL")
    losers = [await r.json() for r in responses if r.status == 409]
    assert {body["pending_invitation_id"] for body in losers} == {pending}


async def test_simultaneous_verifications_of_one_address_have_one_owner(client: Client, db: asyncpg.Connection) -> None:
    users = [await make_user(db, f"user{n}", email="contested@example.com") for n in range(N)]
    body = {"email": "contested@example.com", "code": "code"}
    responses = await asyncio.gather(
        *(client.post(f"/api/users/{u.username}/emails/verify", json=body, headers=u.headers) for u in users)
    )
    assert sorted(r.status for r in responses) == [200] + [409] * (N - 1)
    assert await db.fetchval("SELECT count(*) FROM user_emails WHERE verified_at IS NOT NULL") == 1
