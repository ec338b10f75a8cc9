"""External accounts: linking (site admins, or users with a provider's signed assertion), listing,
unlinking, uniqueness (also under concurrency), sign-in, and auth_data never leaving the database."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from registry.auth.assertions import sign_assertion
from registry.config import Config
from registry.store.external_accounts import AccountSpec
from tests.conftest import AppFactory
from tests.support.factories import UserFixture, auth, make_token, make_user
from tests.support.paging import every_item

Client = TestClient[web.Request, web.Application]
SECRET = "gho_provider-secret-0123456789"
IDENTITY = {"service_type": "github", "service_id": "https://github.com/", "client_id": "c1", "account_id": "42"}
LINK = {**IDENTITY, "auth_data": {"access_token": SECRET}, "account_data": {"login": "alice-gh"}}


PROVIDER_KEY = b"k" * 32


@pytest.fixture
def config(db_url: str) -> Config:
    """The suite's configuration, with an identity provider whose assertions users may present."""
    return Config(
        database_url=db_url, access_log=False, pool_max_size=5, bcrypt_cost=4, external_account_secret=PROVIDER_KEY
    )


def _link(**changes: Any) -> dict[str, Any]:
    return {**LINK, **changes}


def signed(username: str, body: dict[str, Any], *, key: bytes = PROVIDER_KEY, expires_in: int = 300) -> dict[str, Any]:
    """`body` with the provider's assertion that its account is `username`'s."""
    spec = AccountSpec(body["service_type"], body["service_id"], body["client_id"], body["account_id"])
    expires_at = int(time.time()) + expires_in
    return {
        **body,
        "assertion": {"expires_at": expires_at, "signature": sign_assertion(key, username, spec, expires_at)},
    }


async def test_a_user_links_lists_and_unlinks_an_account(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    created = await client.post("/api/users/alice/external-accounts", json=signed("alice", LINK), headers=alice.headers)
    assert created.status == 201
    account = await created.json()
    assert {k: account[k] for k in IDENTITY} == IDENTITY
    assert account["account_data"] == {"login": "alice-gh"}
    assert created.headers["Location"] == f"/api/users/alice/external-accounts/{account['id']}"
    stored = await db.fetchrow("SELECT user_id, auth_data::text FROM user_external_accounts")
    assert stored["user_id"] == alice.id and SECRET in stored["auth_data"]

    listing = await (await client.get("/api/users/alice/external-accounts", headers=alice.headers)).json()
    assert [item["id"] for item in listing["items"]] == [account["id"]]
    assert listing["next_cursor"] is None

    path = f"/api/users/alice/external-accounts/{account['id']}"
    assert (await client.delete(path, headers=alice.headers)).status == 204
    assert (await client.delete(path, headers=alice.headers)).status == 404
    listing = await (await client.get("/api/users/alice/external-accounts", headers=alice.headers)).json()
    assert listing["items"] == []
    assert await db.fetchval("SELECT deleted_at IS NOT NULL FROM user_external_accounts"), "a soft delete"


async def test_auth_data_is_in_no_response(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    texts = []
    created = await client.post("/api/users/alice/external-accounts", json=signed("alice", LINK), headers=alice.headers)
    texts.append(await created.text())
    again = await client.post("/api/users/alice/external-accounts", json=LINK, headers=admin.headers)
    assert again.status == 409
    texts.append(await again.text())
    for headers in (alice.headers, admin.headers):
        texts.append(await (await client.get("/api/users/alice/external-accounts", headers=headers)).text())
    signed_in = await client.post("/api/external-accounts/sign-in", json=IDENTITY, headers=admin.headers)
    assert signed_in.status == 200
    texts.append(await signed_in.text())
    for text in texts:
        assert SECRET not in text
        assert "auth_data" not in text
        assert "access_token" not in text


async def test_site_admins_manage_anyones_accounts_others_are_refused(client: Client, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    bob = await make_user(db, "bob")
    admin = await make_user(db, "root", site_admin=True)
    publish = auth(await make_token(db, bob.id, ["registry:publish"]))
    path = "/api/users/alice/external-accounts"
    assert (await client.post(path, json=LINK)).status == 401
    assert (await client.post(path, json=LINK, headers=bob.headers)).status == 403
    assert (await client.get(path, headers=bob.headers)).status == 403
    assert (await client.get(path, headers=publish)).status == 403
    assert (await client.post("/api/users/nobody/external-accounts", json=LINK, headers=admin.headers)).status == 404
    assert await db.fetchval("SELECT count(*) FROM user_external_accounts") == 0

    created = await (await client.post(path, json=LINK, headers=admin.headers)).json()
    assert (await client.get(path, headers=admin.headers)).status == 200
    assert (await client.delete(f"{path}/{created['id']}", headers=bob.headers)).status == 403
    assert (await client.delete(f"/api/users/bob/external-accounts/{created['id']}", headers=bob.headers)).status == 404
    assert (await client.delete(f"{path}/{created['id']}", headers=admin.headers)).status == 204


async def test_unlink_checks_its_id(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    base = "/api/users/alice/external-accounts"
    assert (await client.delete(f"{base}/abc", headers=alice.headers)).status == 400
    assert (await client.delete(f"{base}/999999999999", headers=alice.headers)).status == 404
    assert (await client.delete(f"{base}/7", headers=alice.headers)).status == 404


async def test_an_account_is_linked_to_one_live_user_at_a_time(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    first = await client.post("/api/users/alice/external-accounts", json=signed("alice", LINK), headers=alice.headers)
    assert first.status == 201
    taken = await client.post("/api/users/bob/external-accounts", json=signed("bob", LINK), headers=bob.headers)
    assert taken.status == 409
    assert (await taken.json())["type"] == "urn:wharf:problem:conflict"
    same_user = await client.post(
        "/api/users/alice/external-accounts", json=signed("alice", LINK), headers=alice.headers
    )
    assert same_user.status == 409

    for other in ({"account_id": "43"}, {"client_id": "c2"}, {"service_id": "https://ghe.example/"}):
        response = await client.post(
            "/api/users/bob/external-accounts", json=signed("bob", _link(**other)), headers=bob.headers
        )
        assert response.status == 201, other

    account_id = (await first.json())["id"]
    await client.delete(f"/api/users/alice/external-accounts/{account_id}", headers=alice.headers)
    assert (
        await client.post("/api/users/bob/external-accounts", json=signed("bob", LINK), headers=bob.headers)
    ).status == 201


async def test_an_account_of_a_deleted_user_may_be_linked_again(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    assert (
        await client.post("/api/users/alice/external-accounts", json=signed("alice", LINK), headers=alice.headers)
    ).status == 201
    assert (await client.delete("/api/users/alice", headers=alice.headers)).status == 204
    assert (
        await client.post("/api/users/bob/external-accounts", json=signed("bob", LINK), headers=bob.headers)
    ).status == 201
    assert await db.fetchval("SELECT count(*) FROM user_external_accounts WHERE deleted_at IS NULL") == 1


async def test_concurrent_links_of_one_account_give_exactly_one_link(
    make_client: AppFactory, fresh_db_url: str
) -> None:
    client = await make_client(
        Config(
            database_url=fresh_db_url,
            access_log=False,
            pool_max_size=10,
            bcrypt_cost=4,
            external_account_secret=PROVIDER_KEY,
        )
    )
    db = await asyncpg.connect(fresh_db_url)
    try:
        users = [await make_user(db, f"user{n}") for n in range(6)]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/api/users/{user.username}/external-accounts",
                    json=signed(user.username, LINK),
                    headers=user.headers,
                )
                for user in users
            )
        )
        assert sorted(response.status for response in responses) == [201] + [409] * 5
        assert await db.fetchval("SELECT count(*) FROM user_external_accounts") == 1
    finally:
        await db.close()


async def test_accounts_list_in_pages(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    for n in range(5):
        body = signed("alice", _link(account_id=str(n)))
        assert (await client.post("/api/users/alice/external-accounts", json=body, headers=alice.headers)).status == 201
    seen = [
        item["id"] for item in await every_item(client, "/api/users/alice/external-accounts", headers=alice.headers)
    ]
    assert seen == sorted(seen) and len(seen) == 5


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in IDENTITY.items() if k != "client_id"},
        {**IDENTITY, "service_type": ""},
        {**IDENTITY, "account_id": 42},
        {**IDENTITY, "auth_data": "a token"},
        {**IDENTITY, "user_id": 1},
    ],
)
async def test_invalid_links_are_422(client: Client, db: asyncpg.Connection, body: dict[str, Any]) -> None:
    alice = await make_user(db, "alice")
    response = await client.post("/api/users/alice/external-accounts", json=body, headers=alice.headers)
    assert response.status == 422
    assert await db.fetchval("SELECT count(*) FROM user_external_accounts") == 0


async def _alice_linked_and_an_admin(client: Client, db: asyncpg.Connection) -> tuple[UserFixture, UserFixture, Any]:
    """Alice with LINK's account linked (the link as answered), and a site admin."""
    alice = await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    link = await client.post("/api/users/alice/external-accounts", json=signed("alice", LINK), headers=alice.headers)
    return alice, admin, await link.json()


async def test_sign_in_resolves_a_linked_account_to_its_user(client: Client, db: asyncpg.Connection) -> None:
    alice, admin, created = await _alice_linked_and_an_admin(client, db)
    response = await client.post("/api/external-accounts/sign-in", json=IDENTITY, headers=admin.headers)
    assert response.status == 200
    body = await response.json()
    assert body["id"] == alice.id and body["username"] == "alice"
    assert body["external_account_id"] == created["id"]
    assert "site_admin" not in body and "emails" not in body, "the public profile and the id only"

    unknown = await client.post(
        "/api/external-accounts/sign-in", json={**IDENTITY, "account_id": "43"}, headers=admin.headers
    )
    assert unknown.status == 404
    await client.delete(f"/api/users/alice/external-accounts/{created['id']}", headers=alice.headers)
    unlinked = await client.post("/api/external-accounts/sign-in", json=IDENTITY, headers=admin.headers)
    assert unlinked.status == 404


async def test_sign_in_is_404_for_a_deleted_user(client: Client, db: asyncpg.Connection) -> None:
    alice, admin, _ = await _alice_linked_and_an_admin(client, db)
    await db.execute("UPDATE users SET deleted_at = now() WHERE id = $1", alice.id)
    response = await client.post("/api/external-accounts/sign-in", json=IDENTITY, headers=admin.headers)
    assert response.status == 404


async def test_only_site_admins_may_sign_in_by_external_account(client: Client, db: asyncpg.Connection) -> None:
    alice, admin, _ = await _alice_linked_and_an_admin(client, db)
    admin_sudo = await make_token(db, admin.id, ["site-admin:sudo"])
    path = "/api/external-accounts/sign-in"
    assert (await client.post(path, json=IDENTITY)).status == 401
    assert (await client.post(path, json=IDENTITY, headers=alice.headers)).status == 403, "even for oneself"
    assert (await client.post(path, json=IDENTITY, headers=auth(admin_sudo))).status == 403, "sudo-only token"
    as_alice = {"Authorization": f'token-sudo user="alice",token="{admin_sudo}"'}
    assert (await client.post(path, json=IDENTITY, headers=as_alice)).status == 403, "acting as a plain user"
    assert (await client.post(path, json={**IDENTITY, "auth_data": {}}, headers=admin.headers)).status == 422
    assert (await client.post(path, json=IDENTITY, headers=admin.headers)).status == 200


# -- An identity is never claimed by assertion alone ---------------------------

GITHUB_583231 = {"service_type": "github", "service_id": "https://github.com/", "client_id": "", "account_id": "583231"}


async def test_a_user_cannot_claim_someone_elses_account_by_assertion(client: Client, db: asyncpg.Connection) -> None:
    mallory = await make_user(db, "mallory")
    owner = await make_user(db, "owner")
    admin = await make_user(db, "root", site_admin=True)
    claim = await client.post("/api/users/mallory/external-accounts", json=GITHUB_583231, headers=mallory.headers)
    assert claim.status == 403
    assert await db.fetchval("SELECT count(*) FROM user_external_accounts") == 0
    unresolved = await client.post("/api/external-accounts/sign-in", json=GITHUB_583231, headers=admin.headers)
    assert unresolved.status == 404, "the sign-in resolution never answers with mallory"
    real = await client.post(
        "/api/users/owner/external-accounts", json=signed("owner", GITHUB_583231), headers=owner.headers
    )
    assert real.status == 201, "the real owner is not locked out by a claim"
    resolved = await client.post("/api/external-accounts/sign-in", json=GITHUB_583231, headers=admin.headers)
    assert (await resolved.json())["username"] == "owner"


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param(lambda body: signed("owner", body), id="signed-for-another-user"),
        pytest.param(
            lambda body: {**signed("mallory", {**body, "account_id": "1"}), "account_id": body["account_id"]},
            id="signed-for-another-account",
        ),
        pytest.param(lambda body: signed("mallory", body, key=b"m" * 32), id="signed-with-another-key"),
        pytest.param(lambda body: signed("mallory", body, expires_in=-1), id="expired"),
        pytest.param(lambda body: signed("mallory", body, expires_in=10 * 3600), id="too-long-lived"),
    ],
)
async def test_an_assertion_that_is_not_the_providers_for_this_link_is_403(
    client: Client, db: asyncpg.Connection, forgery: Any
) -> None:
    mallory = await make_user(db, "mallory")
    response = await client.post(
        "/api/users/mallory/external-accounts", json=forgery(GITHUB_583231), headers=mallory.headers
    )
    assert response.status == 403
    assert await db.fetchval("SELECT count(*) FROM user_external_accounts") == 0


async def test_without_a_configured_provider_only_site_admins_link(
    make_client: AppFactory, db_url: str, db: asyncpg.Connection
) -> None:
    client = await make_client(Config(database_url=db_url, access_log=False, bcrypt_cost=4))
    alice = await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    for body in (LINK, signed("alice", LINK)):
        response = await client.post("/api/users/alice/external-accounts", json=body, headers=alice.headers)
        assert response.status == 403
    sudo = auth(await make_token(db, admin.id, ["site-admin:sudo"]))
    as_alice = {"Authorization": f'token-sudo user="alice",token="{sudo["Authorization"].split()[1]}"'}
    assert (await client.post("/api/users/alice/external-accounts", json=LINK, headers=as_alice)).status == 403
    assert (await client.post("/api/users/alice/external-accounts", json=LINK, headers=admin.headers)).status == 201
