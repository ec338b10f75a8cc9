"""Product subscriptions and license keys over HTTP: who may do what, archiving, issuing,
verification, and the signing key (configured, or generated once and shared through the database)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry import appkeys, licensing
from registry.config import Config
from tests.conftest import AppFactory
from tests.support.factories import UserFixture, auth, make_token, make_user
from tests.support.paging import every_item

Client = TestClient[web.Request, web.Application]
IN_A_YEAR = (datetime.now(UTC) + timedelta(days=365)).replace(microsecond=0)
ISSUE = {"tags": ["enterprise", "sso"], "user_count": 50, "expires_at": IN_A_YEAR.isoformat().replace("+00:00", "Z")}


async def _subscription(client: Client, admin: UserFixture, username: str = "alice") -> dict[str, Any]:
    response = await client.post("/api/subscriptions", json={"username": username}, headers=admin.headers)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _issue(client: Client, admin: UserFixture, subscription_id: str, **changes: Any) -> dict[str, Any]:
    response = await client.post(
        f"/api/subscriptions/{subscription_id}/licenses", json={**ISSUE, **changes}, headers=admin.headers
    )
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _verify(client: Client, license_key: str) -> dict[str, Any]:
    response = await client.post("/api/licenses/verify", json={"license_key": license_key})
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _public_key(client: Client) -> Ed25519PublicKey:
    response = await client.get("/api/licenses/public-key")
    assert response.status == 200
    assert response.content_type == "application/x-pem-file"
    key = serialization.load_pem_public_key((await response.text()).encode())
    assert isinstance(key, Ed25519PublicKey)
    return key


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


async def test_an_issued_key_verifies_online_and_offline(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    subscription = await _subscription(client, admin)
    assert subscription["username"] == "alice" and subscription["user_id"] == alice.id
    assert subscription["archived_at"] is None
    issued = await _issue(client, admin, subscription["id"])
    payload = {
        "version": 1,
        "license_id": issued["id"],
        "subscription_id": subscription["id"],
        "tags": ["enterprise", "sso"],
        "user_count": 50,
        "expires_at": ISSUE["expires_at"],
    }
    assert issued["license"] == payload
    stored = await db.fetchval("SELECT license_key FROM product_licenses WHERE id = $1::uuid", issued["id"])
    assert stored == issued["license_key"]

    assert await _verify(client, issued["license_key"]) == {"valid": True, "reason": None, "license": payload}
    offline = licensing.verify_license(await _public_key(client), issued["license_key"], now=datetime.now(UTC))
    assert offline.valid and offline.license == payload


async def test_tampered_expired_and_foreign_keys_fail_verification(client: Client, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    subscription = await _subscription(client, admin)
    license_key = (await _issue(client, admin, subscription["id"]))["license_key"]
    encoded, signature = license_key.split(".")

    payload = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    bigger = base64.urlsafe_b64encode(orjson.dumps({**payload, "user_count": 5000}, option=orjson.OPT_SORT_KEYS))
    forged = bigger.decode().rstrip("=") + "." + signature
    assert await _verify(client, forged) == {"valid": False, "reason": "signature", "license": None}
    other_signature = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert (await _verify(client, encoded + "." + other_signature))["reason"] == "signature"

    foreign = licensing.sign_license(Ed25519PrivateKey.generate(), payload)
    assert (await _verify(client, foreign))["reason"] == "signature"

    for malformed in ("", "nonsense", "a.b.c", "!!!.???"):
        assert await _verify(client, malformed) == {"valid": False, "reason": "malformed", "license": None}

    # An expired key can only come from this registry's own key (the API refuses past dates).
    key = await client.app[appkeys.SERVICES].licensing.signing_key()
    expired = licensing.sign_license(key, {**payload, "expires_at": "2020-01-01T00:00:00Z"})
    verdict = await _verify(client, expired)
    assert (verdict["valid"], verdict["reason"]) == (False, "expired")
    assert verdict["license"]["expires_at"] == "2020-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "body", [{}, {"license_key": 5}, {"license_key": "x" * 16385}, {"license_key": "x", "extra": 1}]
)
async def test_a_malformed_verify_request_is_422(client: Client, body: dict[str, Any]) -> None:
    assert (await client.post("/api/licenses/verify", json=body)).status == 422


async def test_archiving_blocks_issuing(client: Client, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    subscription = await _subscription(client, admin)
    before = await _issue(client, admin, subscription["id"])
    archived = await client.post(f"/api/subscriptions/{subscription['id']}/archive", headers=admin.headers)
    assert archived.status == 200
    archived_at = (await archived.json())["archived_at"]
    assert archived_at is not None
    again = await client.post(f"/api/subscriptions/{subscription['id']}/archive", headers=admin.headers)
    assert (await again.json())["archived_at"] == archived_at, "archiving is idempotent"

    refused = await client.post(f"/api/subscriptions/{subscription['id']}/licenses", json=ISSUE, headers=admin.headers)
    assert refused.status == 409
    assert await db.fetchval("SELECT count(*) FROM product_licenses") == 1
    assert (await _verify(client, before["license_key"]))["valid"], "keys already issued stay valid"


@pytest.mark.parametrize(
    "changes",
    [
        {"user_count": 0},
        {"user_count": "5"},
        {"tags": "enterprise"},
        {"tags": ["a", "a"]},
        {"tags": [""]},
        {"expires_at": "2020-01-01T00:00:00Z"},
        {"expires_at": "next year"},
        {"expires_at": "2999-01-01"},
        {"expires_at": "2999-01-01T00:00:00"},
        {"expires_at": "2999-13-01T00:00:00Z"},
        {"extra": True},
    ],
)
async def test_invalid_license_requests_are_422(
    client: Client, db: asyncpg.Connection, changes: dict[str, Any]
) -> None:
    await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    subscription = await _subscription(client, admin)
    response = await client.post(
        f"/api/subscriptions/{subscription['id']}/licenses", json={**ISSUE, **changes}, headers=admin.headers
    )
    assert response.status == 422
    assert await db.fetchval("SELECT count(*) FROM product_licenses") == 0


async def test_unknown_subscriptions_and_users(client: Client, db: asyncpg.Connection) -> None:
    admin = await make_user(db, "root", site_admin=True)
    assert (await client.post("/api/subscriptions", json={"username": "nobody"}, headers=admin.headers)).status == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/api/subscriptions/{unknown}", headers=admin.headers)).status == 404
    assert (await client.post(f"/api/subscriptions/{unknown}/archive", headers=admin.headers)).status == 404
    assert (
        await client.post(f"/api/subscriptions/{unknown}/licenses", json=ISSUE, headers=admin.headers)
    ).status == 404
    assert (await client.get("/api/subscriptions/not-a-uuid", headers=admin.headers)).status == 400
    assert (await client.get("/api/subscriptions?username=nobody", headers=admin.headers)).status == 404


async def _authorization_world(client: Client, db: asyncpg.Connection) -> tuple[dict[str, dict[str, str]], str]:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    admin = await make_user(db, "root", site_admin=True)
    subscription = await _subscription(client, admin)
    publish = auth(await make_token(db, admin.id, ["registry:publish"]))
    headers = {"anonymous": {}, "owner": alice.headers, "user": bob.headers, "admin": admin.headers}
    return {**headers, "admin_publish_token": publish}, subscription["id"]


# fmt: off
#                                                     anonymous owner user admin admin_publish_token
AUTHORIZATION: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/subscriptions"):                   (401,     403,  403, 201,  403),
    ("GET", "/api/subscriptions"):                    (401,     200,  200, 200,  403),
    ("GET", "/api/subscriptions?username=alice"):     (401,     200,  403, 200,  403),
    ("GET", "/api/subscriptions/{id}"):               (401,     200,  404, 200,  403),
    ("POST", "/api/subscriptions/{id}/licenses"):     (401,     403,  403, 201,  403),
    ("GET", "/api/subscriptions/{id}/licenses"):      (401,     200,  404, 200,  403),
    ("POST", "/api/subscriptions/{id}/archive"):      (401,     403,  403, 200,  403),
    ("GET", "/api/licenses/public-key"):              (200,     200,  200, 200,  200),
}
# fmt: on
ACTORS = ("anonymous", "owner", "user", "admin", "admin_publish_token")
CASES = [(route, actor, statuses[n]) for route, statuses in AUTHORIZATION.items() for n, actor in enumerate(ACTORS)]


@pytest.mark.parametrize(("route", "actor", "expected"), CASES, ids=[f"{m} {p}-{a}" for (m, p), a, _ in CASES])
async def test_authorization(
    client: Client, db: asyncpg.Connection, route: tuple[str, str], actor: str, expected: int
) -> None:
    headers, subscription_id = await _authorization_world(client, db)
    method, template = route
    bodies = {"/api/subscriptions": {"username": "alice"}, "/api/subscriptions/{id}/licenses": ISSUE}
    body = bodies.get(template) if method == "POST" else None
    tables = ("product_subscriptions", "product_licenses")
    before = {table: await db.fetchval(f"SELECT count(*) FROM {table}") for table in tables}
    response = await client.request(method, template.format(id=subscription_id), json=body, headers=headers[actor])
    assert response.status == expected, await response.text()
    if expected >= 400:
        assert response.headers["Content-Type"] == "application/problem+json"
        assert {table: await db.fetchval(f"SELECT count(*) FROM {table}") for table in tables} == before


async def test_users_see_only_their_own_subscriptions(client: Client, db: asyncpg.Connection) -> None:
    alice = await make_user(db, "alice")
    bob = await make_user(db, "bob")
    admin = await make_user(db, "root", site_admin=True)
    mine = await _subscription(client, admin, "alice")
    theirs = await _subscription(client, admin, "bob")
    await _issue(client, admin, mine["id"])

    own = await (await client.get("/api/subscriptions", headers=alice.headers)).json()
    assert [s["id"] for s in own["items"]] == [mine["id"]]
    everyone = await (await client.get("/api/subscriptions", headers=admin.headers)).json()
    assert [s["id"] for s in everyone["items"]] == [mine["id"], theirs["id"]]
    bobs = await (await client.get("/api/subscriptions?username=BOB", headers=admin.headers)).json()
    assert [s["id"] for s in bobs["items"]] == [theirs["id"]]
    assert (await client.get(f"/api/subscriptions/{mine['id']}/licenses", headers=bob.headers)).status == 404
    keys = await (await client.get(f"/api/subscriptions/{mine['id']}/licenses", headers=alice.headers)).json()
    assert len(keys["items"]) == 1 and keys["items"][0]["license"]["user_count"] == 50


async def test_subscriptions_and_licenses_list_in_pages(client: Client, db: asyncpg.Connection) -> None:
    await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    created = [(await _subscription(client, admin))["id"] for _ in range(5)]
    for _ in range(3):
        await _issue(client, admin, created[0])

    async def walk(path: str) -> list[str]:
        return [item["id"] for item in await every_item(client, path, headers=admin.headers)]

    assert await walk("/api/subscriptions") == created
    licenses = await walk(f"/api/subscriptions/{created[0]}/licenses")
    assert len(set(licenses)) == 3
    for bad in ("e30", "WzFd", "WyJ4IiwgInkiXQ"):
        assert (await client.get(f"/api/subscriptions?cursor={bad}", headers=admin.headers)).status == 400


async def test_the_generated_key_is_shared_by_every_app_on_the_database(
    make_client: AppFactory, config: Config, db: asyncpg.Connection
) -> None:
    first, second = await make_client(config), await make_client(config)
    keys = await asyncio.gather(_public_key(first), _public_key(second), _public_key(first), _public_key(second))
    assert len({_public_bytes(key) for key in keys}) == 1
    rows = await db.fetch("SELECT b64data FROM cert_cache WHERE cache_key = 'wharf:license-signing-key'")
    assert len(rows) == 1
    stored = licensing.parse_private_key_pem(base64.b64decode(rows[0]["b64data"]), "test")
    assert _public_bytes(stored.public_key()) == _public_bytes(keys[0])

    await make_user(db, "alice")
    admin = await make_user(db, "root", site_admin=True)
    subscription = await _subscription(first, admin)
    issued = await _issue(first, admin, subscription["id"])
    third = await make_client(config)
    assert (await _verify(third, issued["license_key"]))["valid"], "a new process verifies the old keys"


async def test_a_configured_key_file_signs(
    make_client: AppFactory, config: Config, db: asyncpg.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "license.pem"
    path.write_bytes(licensing.generate_private_key_pem())
    expected = licensing.load_private_key_file(path).public_key()
    client = await make_client(replace(config, license_signing_key=path))
    assert _public_bytes(await _public_key(client)) == _public_bytes(expected)
    assert await db.fetchval("SELECT count(*) FROM cert_cache") == 0, "nothing generated"


async def test_a_bad_key_file_fails_loudly(
    make_client: AppFactory, config: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "license.pem"
    path.write_text("not a key")
    client = await make_client(replace(config, license_signing_key=path))
    response = await client.get("/api/licenses/public-key")
    assert response.status == 500
    assert "WHARF_LICENSE_SIGNING_KEY" in caplog.text
