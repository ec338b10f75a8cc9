"""Access tokens: created with a password or a `user:all` token, shown once, stored as sha256."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from registry.auth import policy
from registry.auth.actor import accepts_password, request_actor
from registry.auth.tokens import Scope, new_token
from registry.domain.errors import Forbidden, NotFound
from registry.handlers.common import connection, int_param, json_body, transaction
from registry.http import json_response
from registry.pagination import Column, page_body, page_request
from registry.store import tokens as token_store
from registry.store.tokens import Token

routes = web.RouteTableDef()


def render_token(token: Token) -> dict[str, Any]:
    return {
        "id": token.id,
        "note": token.note,
        "scopes": list(token.scopes),
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "creator": token.creator,
    }


@routes.post("/api/tokens")
@accepts_password
async def create_token(request: web.Request) -> web.Response:
    """The one route that accepts a password (HTTP Basic); the value is in this response only."""
    actor = request_actor(request)
    user = policy.signed_in(actor)
    body = await json_body(request, "TokenCreate")
    scopes = sorted(set(body["scopes"]))
    if Scope.SUDO in scopes and not policy.is_site_admin(actor):
        raise Forbidden("Only site admins may create tokens with the site-admin:sudo scope.")
    value, digest = new_token()
    creator = actor.sudo_by or user
    async with transaction(request) as conn:
        token = await token_store.insert_token(
            conn, subject_user_id=user.id, creator_user_id=creator.id, digest=digest, note=body["note"], scopes=scopes
        )
    return json_response({**render_token(token), "token": value}, status=201, headers={"Cache-Control": "no-store"})


@routes.get("/api/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    user = policy.signed_in(request_actor(request))
    page = page_request(request)
    async with connection(request) as conn:
        tokens = await token_store.list_tokens(conn, user.id, after_id=page.after_id(Column.INT8), limit=page.limit + 1)
    return json_response(page_body(tokens, page, lambda t: [t.id], render_token))


@routes.delete("/api/tokens/{id}")
async def delete_token(request: web.Request) -> web.Response:
    """Delete (soft) one of your tokens; site admins may delete anyone's. Others' are 404."""
    actor = request_actor(request)
    user = policy.signed_in(actor)
    token_id = int_param(request, "id")
    async with transaction(request) as conn:
        owner = await token_store.token_owner(conn, token_id)
        if owner is None or (owner != user.id and not policy.is_site_admin(actor)):
            raise NotFound(f"You have no token {token_id}.")
        await token_store.delete_token(conn, token_id)
    return web.Response(status=204)
