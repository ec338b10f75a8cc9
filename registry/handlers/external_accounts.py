"""External accounts linked to users (registry.services.accounts.external_accounts), and the
sign-in an auth provider integration resolves them through."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from registry.auth.authentication import request_actor
from registry.handlers.common import int_param, json_body, no_content, services
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.services.accounts.external_accounts import Link
from registry.store.external_accounts import AccountSpec
from registry.views.accounts import external_account_json, user_json
from registry.views.common import page_json

routes = web.RouteTableDef()


def _spec(body: dict[str, Any]) -> AccountSpec:
    return AccountSpec(body["service_type"], body["service_id"], body["client_id"], body["account_id"])


@routes.post("/api/users/{username}/external-accounts")
async def link_account(request: web.Request) -> web.Response:
    """Link an external account: a site admin for anyone, the user with the provider's assertion."""
    actor, svc = request_actor(request), services(request)
    subject = await svc.users.managed(actor, request.match_info["username"])
    body = await json_body(request, "ExternalAccountLink")
    link = Link(_spec(body), body.get("auth_data"), body.get("account_data"), body.get("assertion"))
    account = await svc.external_accounts.link(actor, subject, link)
    location = f"/api/users/{subject.username}/external-accounts/{account.id}"
    return json_response(external_account_json(account), status=201, headers={"Location": location})


@routes.get("/api/users/{username}/external-accounts")
async def list_accounts(request: web.Request) -> web.Response:
    actor, svc = request_actor(request), services(request)
    subject = await svc.users.managed(actor, request.match_info["username"])
    accounts = await svc.external_accounts.list_accounts(actor, subject, page_request(request))
    return json_response(page_json(accounts, external_account_json))


@routes.delete("/api/users/{username}/external-accounts/{id}")
async def unlink_account(request: web.Request) -> web.Response:
    """Unlink (soft delete); the account may then be linked again, to anyone."""
    actor, svc = request_actor(request), services(request)
    subject = await svc.users.managed(actor, request.match_info["username"])
    return await no_content(svc.external_accounts.unlink(actor, subject, int_param(request, "id")))


@routes.post("/api/external-accounts/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    """Resolve an external account to its live user, for an auth provider integration acting with
    a site admin's `user:all` token; unknown, unlinked, or deleted-user accounts are 404."""
    actor, svc = request_actor(request), services(request).external_accounts
    svc.integration(actor)
    body = await json_body(request, "ExternalAccountSignIn")
    found = await svc.sign_in(actor, _spec(body))
    return json_response({**user_json(found.user), "id": found.user.id, "external_account_id": found.link_id})
