"""Organizations: the shared namespace, members, the last member, soft deletion."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import make_org, make_user

Client = TestClient[web.Request, web.Application]


async def test_creating_an_org_makes_its_creator_a_member(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/orgs", json={"name": "acme", "display_name": "Acme Inc."}, headers=alice.headers)
    assert response.status == 201
    assert response.headers["Location"] == "/api/orgs/acme"
    assert (await response.json())["display_name"] == "Acme Inc."
    members = await (await client.get("/api/orgs/acme/members", headers=alice.headers)).json()
    assert [m["username"] for m in members["items"]] == ["alice"]
    assert await db.fetchval("SELECT org_id IS NOT NULL FROM names WHERE name = 'acme'")


@pytest.mark.parametrize("name", ["alice", "ALICE", "acme", "Acme"])
async def test_org_names_share_the_namespace_with_users_and_orgs(
    client: Client, db: asyncpg.Connection, name: str
) -> None:
    alice = await make_user(db, "alice")
    await make_org(db, "acme", [alice])
    response = await client.post("/api/orgs", json={"name": name}, headers=alice.headers)
    assert response.status == 409
    assert await db.fetchval("SELECT count(*) FROM orgs") == 1


@pytest.mark.parametrize("name", ["-acme", "ac_me", "a" * 256, "", "ac me"])
async def test_invalid_org_names_are_422(client: Client, db: asyncpg.Connection, name: str) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/orgs", json={"name": name}, headers=alice.headers)
    assert response.status == 422
    assert (await response.json())["errors"][0]["pointer"] == "/name"


async def test_orgs_are_public_but_members_and_changes_are_for_members(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    admin = await make_user(db, "root", site_admin=True)
    await make_org(db, "acme", [alice])
    assert (await client.get("/api/orgs/ACME")).status == 200
    assert (await client.get("/api/orgs/nope")).status == 404
    assert (await client.get("/api/orgs/acme/members")).status == 401
    assert (await client.get("/api/orgs/acme/members", headers=bob.headers)).status == 403
    assert (await client.get("/api/orgs/acme/members", headers=admin.headers)).status == 200
    rename = {"display_name": "ACME"}
    assert (await client.patch("/api/orgs/acme", json=rename, headers=bob.headers)).status == 403
    updated = await client.patch("/api/orgs/acme", json=rename, headers=alice.headers)
    assert (updated.status, (await updated.json())["display_name"]) == (200, "ACME")


async def test_an_org_never_loses_its_last_member(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    await make_org(db, "acme", [alice, bob])
    assert (await client.delete("/api/orgs/acme/members/bob", headers=alice.headers)).status == 204
    response = await client.delete("/api/orgs/acme/members/alice", headers=alice.headers)
    assert response.status == 409
    assert "last member" in (await response.json())["detail"]
    assert (await client.delete("/api/orgs/acme/members/carol", headers=alice.headers)).status == 404


async def test_two_members_leaving_at_once_leave_one_behind(client: Client, db: asyncpg.Connection) -> None:
    import asyncio

    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    await make_org(db, "acme", [alice, bob])
    results = await asyncio.gather(
        client.delete("/api/orgs/acme/members/alice", headers=alice.headers),
        client.delete("/api/orgs/acme/members/bob", headers=bob.headers),
    )
    assert sorted(r.status for r in results) == [204, 409]
    assert await db.fetchval("SELECT count(*) FROM org_members") == 1


async def test_deleting_an_org_frees_its_name(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    await make_org(db, "acme", [alice])
    assert (await client.delete("/api/orgs/acme", headers=alice.headers)).status == 204
    assert (await client.get("/api/orgs/acme")).status == 404
    assert (await client.post("/api/orgs", json={"name": "acme"}, headers=alice.headers)).status == 201
