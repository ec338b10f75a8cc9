"""Invitations: one pending per user and org, answered once, revoked by the org."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.factories import UserFixture, make_org, make_user
from tests.support.paging import every_item

Client = TestClient[web.Request, web.Application]


async def _org_with_alice_and_bob(db: asyncpg.Connection) -> tuple[UserFixture, UserFixture]:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    await make_org(db, "acme", [alice])
    return alice, bob


async def _invite(client: Client, inviter: UserFixture, username: str = "bob") -> int:
    response = await client.post("/api/orgs/acme/invitations", json={"username": username}, headers=inviter.headers)
    assert response.status == 201
    invitation_id: int = (await response.json())["id"]
    return invitation_id


async def test_accepting_joins_the_org_in_the_same_transaction(client: Client, db: asyncpg.Connection) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    invitation_id = await _invite(client, alice)
    response = await client.post(
        f"/api/invitations/{invitation_id}/respond", json={"accept": True}, headers=bob.headers
    )
    assert response.status == 200
    assert (await response.json())["accepted"] is True
    members = await (await client.get("/api/orgs/acme/members", headers=bob.headers)).json()
    assert [m["username"] for m in members["items"]] == ["alice", "bob"]


async def test_a_second_pending_invitation_conflicts_naming_the_first(client: Client, db: asyncpg.Connection) -> None:
    alice, _ = await _org_with_alice_and_bob(db)
    first = await _invite(client, alice)
    response = await client.post("/api/orgs/acme/invitations", json={"username": "bob"}, headers=alice.headers)
    assert response.status == 409
    assert (await response.json())["pending_invitation_id"] == first


async def test_inviting_a_member_or_nobody_is_refused(client: Client, db: asyncpg.Connection) -> None:
    alice, _ = await _org_with_alice_and_bob(db)
    assert (
        await client.post("/api/orgs/acme/invitations", json={"username": "alice"}, headers=alice.headers)
    ).status == 409
    assert (
        await client.post("/api/orgs/acme/invitations", json={"username": "zed"}, headers=alice.headers)
    ).status == 404


async def test_listing_marks_invitations_notified(client: Client, db: asyncpg.Connection) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    invitation_id = await _invite(client, alice)
    assert await db.fetchval("SELECT notified_at FROM org_invitations WHERE id = $1", invitation_id) is None
    listing = await (await client.get("/api/user/invitations", headers=bob.headers)).json()
    assert [i["id"] for i in listing["items"]] == [invitation_id]
    assert listing["items"][0]["notified_at"] is not None
    assert await db.fetchval("SELECT notified_at FROM org_invitations WHERE id = $1", invitation_id) is not None
    assert (await (await client.get("/api/user/invitations", headers=alice.headers)).json())["items"] == []


async def test_an_invitation_is_answered_once(client: Client, db: asyncpg.Connection) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    invitation_id = await _invite(client, alice)
    url = f"/api/invitations/{invitation_id}/respond"
    assert (await client.post(url, json={"accept": False}, headers=bob.headers)).status == 200
    again = await client.post(url, json={"accept": True}, headers=bob.headers)
    assert again.status == 409
    assert "declined" in (await again.json())["detail"]
    assert (await client.delete(f"/api/invitations/{invitation_id}", headers=alice.headers)).status == 409
    assert await db.fetchval("SELECT count(*) FROM org_members") == 1
    assert await _invite(client, alice) != invitation_id, "a declined invitation no longer blocks a new one"


async def test_only_the_recipient_answers_and_others_see_nothing(client: Client, db: asyncpg.Connection) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    carol = await make_user(db, "carol")
    invitation_id = await _invite(client, alice)
    for intruder in (alice, carol):
        response = await client.post(
            f"/api/invitations/{invitation_id}/respond", json={"accept": True}, headers=intruder.headers
        )
        assert response.status == 404
    assert (await client.post("/api/invitations/999/respond", json={"accept": True}, headers=bob.headers)).status == 404


async def test_revocation_by_the_org_and_not_by_outsiders(client: Client, db: asyncpg.Connection) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    carol = await make_user(db, "carol")
    invitation_id = await _invite(client, alice)
    assert (await client.delete(f"/api/invitations/{invitation_id}", headers=carol.headers)).status == 404
    assert (await client.delete(f"/api/invitations/{invitation_id}", headers=bob.headers)).status == 403
    assert (await client.delete(f"/api/invitations/{invitation_id}", headers=alice.headers)).status == 204
    response = await client.post(
        f"/api/invitations/{invitation_id}/respond", json={"accept": True}, headers=bob.headers
    )
    assert response.status == 409
    assert "revoked" in (await response.json())["detail"]


async def test_answers_must_be_booleans(client: Client, db: asyncpg.Connection) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    invitation_id = await _invite(client, alice)
    for body in ({"accept": "yes"}, {}, {"accept": True, "extra": 1}):
        response = await client.post(f"/api/invitations/{invitation_id}/respond", json=body, headers=bob.headers)
        assert response.status == 422
    assert await db.fetchval("SELECT responded_at FROM org_invitations") is None


# -- Invitations die with their sender's rights --------------------------------


async def test_an_invitation_from_a_removed_member_cannot_be_accepted(client: Client, db: asyncpg.Connection) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    mallory = await make_user(db, "mallory")
    await db.execute("INSERT INTO org_members (org_id, user_id) SELECT id, $1 FROM orgs", mallory.id)
    invitation_id = await _invite(client, mallory)
    assert (await client.delete("/api/orgs/acme/members/mallory", headers=alice.headers)).status == 204
    response = await client.post(
        f"/api/invitations/{invitation_id}/respond", json={"accept": True}, headers=bob.headers
    )
    assert response.status == 409
    members = await (await client.get("/api/orgs/acme/members", headers=alice.headers)).json()
    assert [m["username"] for m in members["items"]] == ["alice"]
    assert (await (await client.get("/api/user/invitations", headers=bob.headers)).json())["items"] == []


@pytest.mark.parametrize("how", ["sender deleted", "sender left by a direct delete", "site admin demoted"])
async def test_an_invitation_whose_sender_lost_the_right_to_invite_lapses(
    client: Client, db: asyncpg.Connection, how: str
) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    admin = await make_user(db, "root", site_admin=True)
    sender = admin if how == "site admin demoted" else alice
    if sender is alice:
        carol = await make_user(db, "carol")  # the org keeps a member when alice goes
        await db.execute("INSERT INTO org_members (org_id, user_id) SELECT id, $1 FROM orgs", carol.id)
    invitation_id = await _invite(client, sender)
    if how == "sender deleted":
        assert (await client.delete("/api/users/alice", headers=alice.headers)).status == 204
    elif how == "sender left by a direct delete":  # a path that revokes nothing: acceptance still checks
        await db.execute("DELETE FROM org_members WHERE user_id = $1", alice.id)
    else:
        await db.execute("UPDATE users SET site_admin = false WHERE id = $1", admin.id)
    response = await client.post(
        f"/api/invitations/{invitation_id}/respond", json={"accept": True}, headers=bob.headers
    )
    assert response.status == 409
    assert not await db.fetchval("SELECT EXISTS (SELECT FROM org_members WHERE user_id = $1)", bob.id)


async def test_org_members_list_and_revoke_pending_invitations(client: Client, db: asyncpg.Connection) -> None:
    alice, bob = await _org_with_alice_and_bob(db)
    carol = await make_user(db, "carol")
    dave = await make_user(db, "dave")
    await db.execute("INSERT INTO org_members (org_id, user_id) SELECT id, $1 FROM orgs", dave.id)
    to_bob = await _invite(client, alice)
    to_carol = await _invite(client, alice, "carol")
    await client.post(f"/api/invitations/{to_carol}/respond", json={"accept": False}, headers=carol.headers)
    listing = await client.get("/api/orgs/acme/invitations", headers=dave.headers)
    assert listing.status == 200
    page = await listing.json()
    assert [(i["id"], i["sender"], i["recipient"]) for i in page["items"]] == [(to_bob, "alice", "bob")]
    assert page["next_cursor"] is None
    assert (await client.get("/api/orgs/acme/invitations", headers=bob.headers)).status == 403
    assert (await client.get("/api/orgs/acme/invitations")).status == 401
    assert (await client.get("/api/orgs/nope/invitations", headers=dave.headers)).status == 404
    assert (await client.delete(f"/api/invitations/{to_bob}", headers=dave.headers)).status == 204
    assert (await (await client.get("/api/orgs/acme/invitations", headers=alice.headers)).json())["items"] == []


async def test_pending_invitations_of_an_org_list_in_pages(client: Client, db: asyncpg.Connection) -> None:
    alice, _ = await _org_with_alice_and_bob(db)
    for n in range(5):
        await make_user(db, f"user{n}")
        await _invite(client, alice, f"user{n}")
    seen = [item["id"] for item in await every_item(client, "/api/orgs/acme/invitations", headers=alice.headers)]
    assert len(seen) == 5 and seen == sorted(seen)
