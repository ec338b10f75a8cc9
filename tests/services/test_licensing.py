"""The licensing rules, without HTTP: who may create and read subscriptions, what an archived one
refuses, and that a license key signed by the service verifies with its published public key."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from registry import licensing
from registry.auth.tokens import Scope
from registry.domain.actor import ANONYMOUS, Actor
from registry.domain.errors import DomainError, Forbidden, NotFound, Unauthorized, Unprocessable
from registry.domain.page import PageRequest
from registry.services import Services
from registry.services.licensing import LicenseTerms, SubscriptionArchived
from registry.store import users as user_store
from registry.store.licenses import License, Subscription
from tests.support.factories import make_user

IN_A_YEAR = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365)
TERMS = LicenseTerms(tags=["enterprise"], user_count=25, expires_at=IN_A_YEAR)


async def _actor(db: asyncpg.Connection, username: str, scopes: Iterable[str] = (Scope.USER_ALL,)) -> Actor:
    user = await user_store.user_by_username(db, username)
    assert user is not None
    return Actor(user, frozenset(scopes))


async def _world(db: asyncpg.Connection) -> dict[str, Actor]:
    await make_user(db, "alice")
    await make_user(db, "bob")
    await make_user(db, "root", site_admin=True)
    return {
        "alice": await _actor(db, "alice"),
        "bob": await _actor(db, "bob"),
        "admin": await _actor(db, "root"),
        "admin_publish_token": await _actor(db, "root", [Scope.PUBLISH]),
    }


async def _alices_subscription(services: Services, db: asyncpg.Connection) -> tuple[dict[str, Actor], Subscription]:
    actors = await _world(db)
    return actors, await services.licensing.create_subscription(actors["admin"], "alice")


async def _alices_license(services: Services, db: asyncpg.Connection) -> tuple[dict[str, Actor], Subscription, License]:
    """alice's subscription and the license a site admin issued for it on TERMS."""
    actors, subscription = await _alices_subscription(services, db)
    return actors, subscription, await services.licensing.issue_license(actors["admin"], subscription.id, TERMS)


def _public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, Ed25519PublicKey)
    return key


def _with_one_byte_changed(license_key: str) -> str:
    """The same key with one byte of its signed payload changed, re-encoded as the service would."""
    encoded, signature = license_key.split(".")
    payload = bytearray(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    count = payload.index(b'"user_count":') + len(b'"user_count":')
    assert payload[count : count + 2] == b"25"
    payload[count] = ord("9")  # 25 users -> 95
    return base64.urlsafe_b64encode(bytes(payload)).decode().rstrip("=") + "." + signature


async def test_a_license_signed_by_the_service_verifies_with_its_public_key_and_fails_when_one_byte_changes(
    services: Services, db: asyncpg.Connection
) -> None:
    _, subscription, issued = await _alices_license(services, db)
    svc = services.licensing

    public = _public_key(await svc.public_key_pem())
    now = datetime.now(UTC)
    offline = licensing.verify_license(public, issued.license_key, now=now)
    assert offline.valid and offline.license is not None
    assert offline.license["user_count"] == 25 and offline.license["subscription_id"] == str(subscription.id)
    assert (await svc.verify(issued.license_key)).valid

    tampered = _with_one_byte_changed(issued.license_key)
    assert licensing.verify_license(public, tampered, now=now) == licensing.Verification(False, "signature", None)
    assert (await svc.verify(tampered)).reason == "signature"


async def test_a_license_past_its_expiry_no_longer_verifies(services: Services, db: asyncpg.Connection) -> None:
    _, _, issued = await _alices_license(services, db)
    verdict = await services.licensing.verify(issued.license_key, now=IN_A_YEAR)
    assert (verdict.valid, verdict.reason) == (False, "expired")


async def test_an_archived_subscription_issues_no_license_and_its_keys_stay_valid(
    services: Services, db: asyncpg.Connection
) -> None:
    actors, subscription, before = await _alices_license(services, db)
    svc = services.licensing
    archived = await svc.archive(actors["admin"], subscription.id)
    assert archived.archived_at is not None
    assert (await svc.archive(actors["admin"], subscription.id)).archived_at == archived.archived_at

    with pytest.raises(SubscriptionArchived, match="is archived"):
        await svc.issue_license(actors["admin"], subscription.id, TERMS)
    assert await db.fetchval("SELECT count(*) FROM product_licenses") == 1
    assert (await svc.verify(before.license_key)).valid


async def test_a_license_must_expire_in_the_future(services: Services, db: asyncpg.Connection) -> None:
    actors, subscription = await _alices_subscription(services, db)
    past = LicenseTerms(tags=[], user_count=1, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(Unprocessable):
        await services.licensing.issue_license(actors["admin"], subscription.id, past)


@pytest.mark.parametrize(
    ("actor", "refusal"),
    [("anonymous", Unauthorized), ("alice", Forbidden), ("bob", Forbidden), ("admin_publish_token", Forbidden)],
)
async def test_only_a_site_admin_creates_subscriptions(
    services: Services, db: asyncpg.Connection, actor: str, refusal: type[DomainError]
) -> None:
    actors = {**await _world(db), "anonymous": ANONYMOUS}
    with pytest.raises(refusal):
        await services.licensing.create_subscription(actors[actor], "alice")
    assert await db.fetchval("SELECT count(*) FROM product_subscriptions") == 0
    created = await services.licensing.create_subscription(actors["admin"], "alice")
    assert created.username == "alice" and created.archived_at is None


@pytest.mark.parametrize("actor", ["anonymous", "alice", "admin_publish_token"])
async def test_only_a_site_admin_issues_and_archives(services: Services, db: asyncpg.Connection, actor: str) -> None:
    actors = {**await _world(db), "anonymous": ANONYMOUS}
    subscription = await services.licensing.create_subscription(actors["admin"], "alice")
    with pytest.raises((Unauthorized, Forbidden)):
        await services.licensing.issue_license(actors[actor], subscription.id, TERMS)
    with pytest.raises((Unauthorized, Forbidden)):
        await services.licensing.archive(actors[actor], subscription.id)


async def test_a_subscription_is_read_by_its_owner_and_site_admins_and_does_not_exist_for_others(
    services: Services, db: asyncpg.Connection
) -> None:
    actors, subscription, _ = await _alices_license(services, db)
    svc = services.licensing
    for reader in ("alice", "admin"):
        assert (await svc.subscription(actors[reader], subscription.id)).id == subscription.id
        assert len((await svc.licenses(actors[reader], subscription.id, PageRequest())).items) == 1
    with pytest.raises(NotFound, match=f"No subscription {subscription.id}"):
        await svc.subscription(actors["bob"], subscription.id)
    with pytest.raises(NotFound):
        await svc.licenses(actors["bob"], subscription.id, PageRequest())
    with pytest.raises(NotFound, match="No subscription"):
        await svc.subscription(actors["admin"], UUID(int=1))


async def test_users_list_their_own_subscriptions_and_site_admins_anyones(
    services: Services, db: asyncpg.Connection
) -> None:
    actors = await _world(db)
    svc = services.licensing
    alices = await svc.create_subscription(actors["admin"], "alice")
    bobs = await svc.create_subscription(actors["admin"], "bob")

    assert [s.id for s in (await svc.subscriptions(actors["alice"], None, PageRequest())).items] == [alices.id]
    assert [s.id for s in (await svc.subscriptions(actors["alice"], "ALICE", PageRequest())).items] == [alices.id]
    with pytest.raises(Forbidden):
        await svc.subscriptions(actors["alice"], "bob", PageRequest())
    everyone = await svc.subscriptions(actors["admin"], None, PageRequest())
    assert [s.id for s in everyone.items] == [alices.id, bobs.id]
    assert [s.id for s in (await svc.subscriptions(actors["admin"], "bob", PageRequest())).items] == [bobs.id]
    with pytest.raises(NotFound, match="No user named nobody"):
        await svc.subscriptions(actors["admin"], "nobody", PageRequest())


async def test_the_signing_key_is_generated_once_and_kept_in_the_cert_cache(
    services: Services, db: asyncpg.Connection
) -> None:
    first = await services.licensing.signing_key()
    assert await services.licensing.signing_key() is first
    stored = await db.fetchval("SELECT b64data FROM cert_cache WHERE cache_key = $1", licensing.SIGNING_KEY_CACHE_KEY)
    assert licensing.public_key_pem(licensing.parse_private_key_pem(base64.b64decode(stored), "test")) == (
        licensing.public_key_pem(first)
    )
