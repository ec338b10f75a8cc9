"""Product subscriptions and their license keys; the public key and verification, for anyone
(the rules: registry.services.licensing).

A handler whose route is for site admins (or signed-in users) asks the policy first, before it
reads the path or the body, so that a refused request learns nothing about its input's validity.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web

from registry import appkeys
from registry.domain.errors import BadRequest, Unprocessable
from registry.handlers.common import json_body, services, signed_in_actor, site_admin_actor
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.services.licensing import LicenseTerms
from registry.validation import parse_timestamp
from registry.views.common import page_json
from registry.views.licenses import render_license, render_subscription

routes = web.RouteTableDef()


def _subscription_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise BadRequest("id must be a UUID.") from None


def _expiry(raw: str) -> datetime:
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise Unprocessable.at(
            "/expires_at", "must be an RFC 3339 date-time with an offset, in years 1..9999"
        ) from None


@routes.post("/api/subscriptions")
async def create_subscription(request: web.Request) -> web.Response:
    actor = site_admin_actor(request)
    body = await json_body(request, "ProductSubscriptionCreate")
    subscription = await services(request).licensing.create_subscription(actor, body["username"])
    return json_response(
        render_subscription(subscription),
        status=201,
        headers={"Location": f"/api/subscriptions/{subscription.id}"},
    )


@routes.get("/api/subscriptions")
async def list_subscriptions(request: web.Request) -> web.Response:
    """Site admins: every subscription, or one user's (`?username=`). Others: their own only."""
    actor = signed_in_actor(request)
    page = page_request(request)
    found = await services(request).licensing.subscriptions(actor, request.query.get("username"), page)
    return json_response(page_json(found, render_subscription))


@routes.get("/api/subscriptions/{id}")
async def get_subscription(request: web.Request) -> web.Response:
    actor = signed_in_actor(request)
    subscription_id = _subscription_id(request)
    subscription = await services(request).licensing.subscription(actor, subscription_id)
    return json_response(render_subscription(subscription))


@routes.post("/api/subscriptions/{id}/archive")
async def archive_subscription(request: web.Request) -> web.Response:
    """Archive: no more license keys may be issued for it (those issued stay valid). Idempotent."""
    actor = site_admin_actor(request)
    subscription_id = _subscription_id(request)
    archived = await services(request).licensing.archive(actor, subscription_id)
    return json_response(render_subscription(archived))


@routes.post("/api/subscriptions/{id}/licenses")
async def issue_license(request: web.Request) -> web.Response:
    """Issue a signed license key for a live (not archived) subscription; site admins only."""
    actor = site_admin_actor(request)
    subscription_id = _subscription_id(request)
    body = await json_body(request, "ProductLicenseIssue")
    terms = LicenseTerms(body["tags"], body["user_count"], _expiry(body["expires_at"]))
    issued = await services(request).licensing.issue_license(actor, subscription_id, terms)
    return json_response(render_license(issued), status=201, headers={"Cache-Control": "no-store"})


@routes.get("/api/subscriptions/{id}/licenses")
async def list_licenses(request: web.Request) -> web.Response:
    actor = signed_in_actor(request)
    subscription_id = _subscription_id(request)
    found = await services(request).licensing.licenses(actor, subscription_id, page_request(request))
    return json_response(page_json(found, render_license), headers={"Cache-Control": "no-store"})


# The public key and verification take no parameter to the database, so refuse none (`services`
# refuses a NUL in any path or query parameter).
@routes.get("/api/licenses/public-key")
async def public_key(request: web.Request) -> web.Response:
    """The Ed25519 public key (PEM, SubjectPublicKeyInfo) that verifies every license key."""
    return web.Response(
        text=await request.app[appkeys.SERVICES].licensing.public_key_pem(),
        content_type="application/x-pem-file",
        headers={"Cache-Control": "public, max-age=300"},
    )


@routes.post("/api/licenses/verify")
async def verify_license(request: web.Request) -> web.Response:
    """Anyone may ask whether a license key is genuine and current: 200 whatever the answer."""
    body = await json_body(request, "ProductLicenseVerify")
    verdict = await request.app[appkeys.SERVICES].licensing.verify(body["license_key"])
    return json_response({"valid": verdict.valid, "reason": verdict.reason, "license": verdict.license})
