"""Product subscriptions and their license keys; the public key and verification, for anyone.

Site admins create and archive subscriptions and issue license keys. A user may read (list, get)
their own subscriptions and license keys, since they need the keys; anyone else's do not exist.

The signing key is WHARF_LICENSE_SIGNING_KEY's file when set, else one generated on first use and
kept in `cert_cache`, shared by every process on the database. It is loaded once per service (one
per application), on first use: a bad key file fails that first use with a ConfigError, logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import licensing
from registry.auth import policy
from registry.config import Config, ConfigError
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import Conflict, Unprocessable
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.services import loaders
from registry.store import cert_cache as cache_store
from registry.store import licenses as license_store
from registry.store.licenses import License, Subscription


class SubscriptionArchived(Conflict):
    """An archived subscription gets no new license keys (those issued stay valid)."""


class LicenseTerms(Record):
    """What a new license key grants, as its payload will say."""

    tags: list[str]
    user_count: int
    expires_at: datetime


class LicensingService:
    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self._key: Ed25519PrivateKey | None = None
        self._key_lock = asyncio.Lock()

    async def signing_key(self) -> Ed25519PrivateKey:
        """The license signing key, loaded (or generated) once."""
        if self._key is None:
            async with self._key_lock:
                if self._key is None:
                    self._key = await self._load_or_create_key()
        return self._key

    async def _load_or_create_key(self) -> Ed25519PrivateKey:
        path = self.config.license_signing_key
        if path is not None:
            return await asyncio.to_thread(licensing.load_private_key_file, path)
        cache_key = licensing.SIGNING_KEY_CACHE_KEY
        async with self.db.transaction() as conn:
            stored = await cache_store.stored_data(conn, cache_key)
            if stored is None:
                # Every process may get here at once: the first INSERT wins, and all read the winner's.
                pem = licensing.generate_private_key_pem()
                await cache_store.insert_entry_if_absent(conn, cache_key, base64.b64encode(pem).decode())
                stored = await cache_store.stored_data(conn, cache_key)
        if stored is None:
            raise ConfigError(f"cert_cache lost {cache_key} right after it was stored")
        try:
            pem = base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"cert_cache {cache_key} is not base64") from None
        return licensing.parse_private_key_pem(pem, f"cert_cache {cache_key}")

    async def create_subscription(self, actor: Actor, username: str) -> Subscription:
        policy.require_site_admin(actor)
        async with self.db.transaction() as conn:
            user = await loaders.user_named(conn, username)
            return await license_store.insert_subscription(conn, user.id)

    async def subscriptions(self, actor: Actor, username: str | None, page: PageRequest) -> Page[Subscription]:
        """Site admins: every subscription, or one user's. Others: their own only."""
        user = policy.require_may_list_subscriptions(actor, username)
        async with self.db.reading() as conn:
            subject_id: int | None = user.id
            if policy.is_site_admin(actor):
                subject_id = None if username is None else (await loaders.user_named(conn, username)).id
            return await license_store.list_subscriptions(conn, user_id=subject_id, page=page)

    async def subscription(self, actor: Actor, subscription_id: uuid.UUID) -> Subscription:
        policy.signed_in(actor)
        async with self.db.reading() as conn:
            subscription = await loaders.subscription(conn, subscription_id)
        policy.require_readable_subscription(actor, subscription)
        return subscription

    async def archive(self, actor: Actor, subscription_id: uuid.UUID) -> Subscription:
        """No more license keys may be issued for it (those issued stay valid). Idempotent."""
        policy.require_site_admin(actor)
        async with self.db.transaction() as conn:
            await loaders.subscription(conn, subscription_id)
            archived = await license_store.archive_subscription(conn, subscription_id)
        assert archived is not None  # loaded in this transaction, and subscriptions are never deleted
        return archived

    async def issue_license(self, actor: Actor, subscription_id: uuid.UUID, terms: LicenseTerms) -> License:
        """A signed license key for a live (not archived) subscription."""
        policy.require_site_admin(actor)
        if terms.expires_at <= datetime.now(UTC):
            raise Unprocessable.at("/expires_at", "must be in the future")
        key = await self.signing_key()
        license_id = uuid.uuid4()
        async with self.db.transaction() as conn:
            subscription = await loaders.subscription(conn, subscription_id, lock=True)
            if subscription.archived_at is not None:
                raise SubscriptionArchived(f"Subscription {subscription_id} is archived; it gets no new license keys.")
            payload = licensing.license_payload(
                license_id=str(license_id),
                subscription_id=str(subscription.id),
                tags=terms.tags,
                user_count=terms.user_count,
                expires_at=terms.expires_at,
            )
            license_key = licensing.sign_license(key, payload)
            return await license_store.insert_license(
                conn, license_id=license_id, subscription_id=subscription.id, license_key=license_key
            )

    async def licenses(self, actor: Actor, subscription_id: uuid.UUID, page: PageRequest) -> Page[License]:
        subscription = await self.subscription(actor, subscription_id)
        return await self.db.read(license_store.list_licenses, subscription.id, page=page)

    async def public_key_pem(self) -> str:
        """The Ed25519 public key (PEM, SubjectPublicKeyInfo) that verifies every license key."""
        return licensing.public_key_pem(await self.signing_key())

    async def verify(self, license_key: str, *, now: datetime | None = None) -> licensing.Verification:
        """Whether a license key is genuine and current; anyone may ask."""
        key = await self.signing_key()
        return licensing.verify_license(key.public_key(), license_key, now=now or datetime.now(UTC))
