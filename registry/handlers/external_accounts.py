"""External accounts: identities at other services (code hosts, identity providers) linked to users.

A user (or a site admin for them) lists and unlinks accounts. Linking one is a claim of identity
that the sign-in route below trusts, so only a site admin may make it, or the user with the
configured identity provider's signed assertion (registry.auth.assertions). `auth_data`, the
provider's tokens, is stored but never returned. An auth provider integration resolves an external account
to its user through the sign-in route, with a site admin's `user:all` token.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from registry import appkeys
from registry.auth import policy
from registry.auth.actor import request_actor
from registry.auth.assertions import require_assertion
from registry.domain.errors import Conflict, NotFound
from registry.handlers.common import connection, int_param, json_body, transaction
from registry.handlers.users import render_user
from registry.http import json_response
from registry.pagination import Column, page_body, page_request
from registry.store import external_accounts as account_store
from registry.store import users as user_store
from registry.store.external_accounts import AccountSpec, ExternalAccount
from registry.store.users import User
from registry.validation import INT4_MAX

routes = web.RouteTableDef()


def render_account(account: ExternalAccount) -> dict[str, Any]:
    """An external account as clients see it: never its auth_data."""
    return {
        "id": account.id,
        "service_type": account.service_type,
        "service_id": account.service_id,
        "client_id": account.client_id,
        "account_id": account.account_id,
        "account_data": account.account_data,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def _spec(body: dict[str, Any]) -> AccountSpec:
    return AccountSpec(body["service_type"], body["service_id"], body["client_id"], body["account_id"])


async def _managed_user(request: web.Request) -> User:
    """The user named in the path, whom the actor must be (or administer)."""
    actor = request_actor(request)
    username = request.match_info["username"]
    async with connection(request) as conn:
        subject = await user_store.user_by_username(conn, username)
    if subject is None:
        raise NotFound(f"No user named {username}.")
    policy.require_self_or_site_admin(actor, subject)
    return subject


@routes.post("/api/users/{username}/external-accounts")
async def link_account(request: web.Request) -> web.Response:
    """Link an external account; it may be linked to one live user at a time (409 otherwise). A site
    admin links for anyone; the user herself only with the provider's signed assertion."""
    subject = await _managed_user(request)
    body = await json_body(request, "ExternalAccountLink")
    spec = _spec(body)
    if not policy.is_site_admin(request_actor(request)):
        secret = request.app[appkeys.CONFIG].external_account_secret
        require_assertion(secret, subject.username, spec, body.get("assertion"))
    async with transaction(request) as conn:
        await account_store.release_from_deleted_users(conn, spec)
        account = await account_store.insert_external_account(
            conn, subject.id, spec, auth_data=body.get("auth_data"), account_data=body.get("account_data")
        )
    if account is None:
        raise Conflict("That external account is already linked to a user.")
    return json_response(
        render_account(account),
        status=201,
        headers={"Location": f"/api/users/{subject.username}/external-accounts/{account.id}"},
    )


@routes.get("/api/users/{username}/external-accounts")
async def list_accounts(request: web.Request) -> web.Response:
    subject = await _managed_user(request)
    page = page_request(request)
    async with connection(request) as conn:
        accounts = await account_store.list_external_accounts(
            conn, subject.id, after_id=page.after_id(Column.INT4), limit=page.limit + 1
        )
    return json_response(page_body(accounts, page, lambda a: [a.id], render_account))


@routes.delete("/api/users/{username}/external-accounts/{id}")
async def unlink_account(request: web.Request) -> web.Response:
    """Unlink (soft delete); the account may then be linked again, to anyone."""
    subject = await _managed_user(request)
    account_id = int_param(request, "id")
    async with transaction(request) as conn:
        if account_id > INT4_MAX or not await account_store.delete_external_account(conn, subject.id, account_id):
            raise NotFound(f"{subject.username} has no external account {account_id}.")
    return web.Response(status=204)


@routes.post("/api/external-accounts/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    """Resolve an external account to its live user, for an auth provider integration acting with
    a site admin's `user:all` token. No token is minted: the integration gets the user's id and
    public profile and carries on. Unknown, unlinked, or deleted-user accounts are 404."""
    policy.require_site_admin(request_actor(request))
    body = await json_body(request, "ExternalAccountSignIn")
    async with connection(request) as conn:
        found = await account_store.user_by_external_account(conn, _spec(body))
    if found is None:
        raise NotFound("No live user has that external account linked.")
    user, link_id = found
    return json_response({**render_user(user), "id": user.id, "external_account_id": link_id})
