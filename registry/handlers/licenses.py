"""Product subscriptions and their license keys; the public key and verification, for anyone.

Site admins create and archive subscriptions and issue license keys. A user may read (list, get)
their own subscriptions and license keys, since they need the keys; anyone else's are 404.

The signing key is WHARF_LICENSE_SIGNING_KEY's file when set, else one generated on first use and
kept in `cert_cache`, shared by every process on the database. It is loaded once per application,
on first use (a bad key file fails that first use with a ConfigError, logged).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import appkeys, licensing
from registry.auth import policy
from registry.auth.actor import request_actor
from registry.config import ConfigError
from registry.domain.actor import Actor
from registry.domain.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from registry.handlers.common import connection, json_body, transaction
from registry.http import json_response
from registry.names import fold_name
from registry.pagination import Column, PageRequest, page_body, page_request
from registry.store import licenses as license_store
from registry.store import users as user_store
from registry.store.licenses import License, Subscription
from registry.validation import parse_timestamp

routes = web.RouteTableDef()


@dataclass
class _Keyring:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    key: Ed25519PrivateKey | None = None


_KEYRINGS: weakref.WeakKeyDictionary[web.Application, _Keyring] = weakref.WeakKeyDictionary()


async def _load_or_create_key(app: web.Application) -> Ed25519PrivateKey:
    path = app[appkeys.CONFIG].license_signing_key
    if path is not None:
        return await asyncio.to_thread(licensing.load_private_key_file, path)
    cache_key = licensing.SIGNING_KEY_CACHE_KEY
    async with app[appkeys.POOL].acquire() as conn:
        stored = await license_store.cache_entry(conn, cache_key)
        if stored is None:
            # Every process may get here at once: the first INSERT wins, and all read the winner's.
            pem = licensing.generate_private_key_pem()
            await license_store.insert_cache_entry_if_absent(conn, cache_key, base64.b64encode(pem).decode())
            stored = await license_store.cache_entry(conn, cache_key)
    if stored is None:
        raise ConfigError(f"cert_cache lost {cache_key} right after it was stored")
    try:
        pem = base64.b64decode(stored, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"cert_cache {cache_key} is not base64") from None
    return licensing.parse_private_key_pem(pem, f"cert_cache {cache_key}")


async def signing_key(app: web.Application) -> Ed25519PrivateKey:
    """The application's license signing key, loaded (or generated) once."""
    keyring = _KEYRINGS.setdefault(app, _Keyring())
    if keyring.key is None:
        async with keyring.lock:
            if keyring.key is None:
                keyring.key = await _load_or_create_key(app)
    return keyring.key


def render_subscription(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "user_id": subscription.user_id,
        "username": subscription.username,
        "billing_subscription_id": subscription.billing_subscription_id,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
        "archived_at": subscription.archived_at,
    }


def render_license(issued: License) -> dict[str, Any]:
    return {
        "id": issued.id,
        "subscription_id": issued.subscription_id,
        "license_key": issued.license_key,
        "license": licensing.decode_payload(issued.license_key),
        "created_at": issued.created_at,
    }


def _uuid_param(request: web.Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise BadRequest(f"{name} must be a UUID.") from None


def _after(page: PageRequest) -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, id) cursor of a list in creation order."""
    key = page.after_key(Column.TIMESTAMPTZ, Column.UUID)
    return None if key is None else (key[0], key[1])


def _creation_key(row: Subscription | License) -> list[str]:
    return [row.created_at.isoformat(), str(row.id)]


async def _readable_subscription(request: web.Request, actor: Actor) -> Subscription:
    """The subscription in the path, which the actor must own or administer (404 otherwise)."""
    user = policy.signed_in(actor)
    subscription_id = _uuid_param(request, "id")
    async with connection(request) as conn:
        subscription = await license_store.subscription_by_id(conn, subscription_id)
    if subscription is None or (subscription.user_id != user.id and not policy.is_site_admin(actor)):
        raise NotFound(f"No subscription {subscription_id}.")
    return subscription


@routes.post("/api/subscriptions")
async def create_subscription(request: web.Request) -> web.Response:
    policy.require_site_admin(request_actor(request))
    body = await json_body(request, "ProductSubscriptionCreate")
    async with transaction(request) as conn:
        user = await user_store.user_by_username(conn, body["username"])
        if user is None:
            raise NotFound(f"No user named {body['username']}.")
        subscription = await license_store.insert_subscription(conn, user.id)
    return json_response(
        render_subscription(subscription),
        status=201,
        headers={"Location": f"/api/subscriptions/{subscription.id}"},
    )


@routes.get("/api/subscriptions")
async def list_subscriptions(request: web.Request) -> web.Response:
    """Site admins: every subscription, or one user's (`?username=`). Others: their own only."""
    actor = request_actor(request)
    user = policy.signed_in(actor)
    page = page_request(request)
    after = _after(page)
    username = request.query.get("username")
    async with connection(request) as conn:
        if policy.is_site_admin(actor):
            subject_id = None
            if username is not None:
                subject = await user_store.user_by_username(conn, username)
                if subject is None:
                    raise NotFound(f"No user named {username}.")
                subject_id = subject.id
        elif username is None or fold_name(username) == fold_name(user.username):
            subject_id = user.id
        else:
            raise Forbidden(f"Only {username} or a site admin may list {username}'s subscriptions.")
        rows = await license_store.list_subscriptions(conn, user_id=subject_id, after=after, limit=page.limit + 1)
    return json_response(page_body(rows, page, _creation_key, render_subscription))


@routes.get("/api/subscriptions/{id}")
async def get_subscription(request: web.Request) -> web.Response:
    subscription = await _readable_subscription(request, request_actor(request))
    return json_response(render_subscription(subscription))


@routes.post("/api/subscriptions/{id}/archive")
async def archive_subscription(request: web.Request) -> web.Response:
    """Archive: no more license keys may be issued for it (those issued stay valid). Idempotent."""
    policy.require_site_admin(request_actor(request))
    subscription_id = _uuid_param(request, "id")
    async with transaction(request) as conn:
        archived = await license_store.archive_subscription(conn, subscription_id)
    if archived is None:
        raise NotFound(f"No subscription {subscription_id}.")
    return json_response(render_subscription(archived))


def _expiry(raw: str) -> datetime:
    try:
        expires_at = parse_timestamp(raw)
    except ValueError:
        raise Unprocessable.at(
            "/expires_at", "must be an RFC 3339 date-time with an offset, in years 1..9999"
        ) from None
    if expires_at <= datetime.now(UTC):
        raise Unprocessable.at("/expires_at", "must be in the future")
    return expires_at


@routes.post("/api/subscriptions/{id}/licenses")
async def issue_license(request: web.Request) -> web.Response:
    """Issue a signed license key for a live (not archived) subscription; site admins only."""
    policy.require_site_admin(request_actor(request))
    subscription_id = _uuid_param(request, "id")
    body = await json_body(request, "ProductLicenseIssue")
    expires_at = _expiry(body["expires_at"])
    key = await signing_key(request.app)
    license_id = uuid.uuid4()
    async with transaction(request) as conn:
        subscription = await license_store.subscription_by_id(conn, subscription_id, lock=True)
        if subscription is None:
            raise NotFound(f"No subscription {subscription_id}.")
        if subscription.archived_at is not None:
            raise Conflict(f"Subscription {subscription_id} is archived; it gets no new license keys.")
        payload = licensing.license_payload(
            license_id=str(license_id),
            subscription_id=str(subscription.id),
            tags=body["tags"],
            user_count=body["user_count"],
            expires_at=expires_at,
        )
        issued = await license_store.insert_license(
            conn,
            license_id=license_id,
            subscription_id=subscription.id,
            license_key=licensing.sign_license(key, payload),
        )
    return json_response(render_license(issued), status=201, headers={"Cache-Control": "no-store"})


@routes.get("/api/subscriptions/{id}/licenses")
async def list_licenses(request: web.Request) -> web.Response:
    subscription = await _readable_subscription(request, request_actor(request))
    page = page_request(request)
    async with connection(request) as conn:
        rows = await license_store.list_licenses(conn, subscription.id, after=_after(page), limit=page.limit + 1)
    return json_response(page_body(rows, page, _creation_key, render_license), headers={"Cache-Control": "no-store"})


@routes.get("/api/licenses/public-key")
async def public_key(request: web.Request) -> web.Response:
    """The Ed25519 public key (PEM, SubjectPublicKeyInfo) that verifies every license key."""
    key = await signing_key(request.app)
    return web.Response(
        text=licensing.public_key_pem(key),
        content_type="application/x-pem-file",
        headers={"Cache-Control": "public, max-age=300"},
    )


@routes.post("/api/licenses/verify")
async def verify_license(request: web.Request) -> web.Response:
    """Anyone may ask whether a license key is genuine and current: 200 whatever the answer."""
    body = await json_body(request, "ProductLicenseVerify")
    key = await signing_key(request.app)
    verdict = licensing.verify_license(key.public_key(), body["license_key"], now=datetime.now(UTC))
    return json_response({"valid": verdict.valid, "reason": verdict.reason, "license": verdict.license})
