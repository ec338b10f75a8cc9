"""Access tokens: created with a password or a `user:all` token, shown once, stored as sha256."""

from __future__ import annotations

from aiohttp import web

from registry.auth.authentication import accepts_password
from registry.handlers.common import int_param, json_body, no_content, services, signed_in_actor
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.views.accounts import token_json
from registry.views.common import page_json

routes = web.RouteTableDef()


@routes.post("/api/tokens")
@accepts_password
async def create_token(request: web.Request) -> web.Response:
    """The one route that accepts a password (HTTP Basic); the value is in this response only."""
    svc, actor = services(request).tokens, signed_in_actor(request)
    body = await json_body(request, "TokenCreate")
    made = await svc.create(actor, body["note"], body["scopes"])
    return json_response(
        {**token_json(made.token), "token": made.value}, status=201, headers={"Cache-Control": "no-store"}
    )


@routes.get("/api/tokens")
async def list_tokens(request: web.Request) -> web.Response:
    svc, actor = services(request).tokens, signed_in_actor(request)
    return json_response(page_json(await svc.list_tokens(actor, page_request(request)), token_json))


@routes.delete("/api/tokens/{id}")
async def delete_token(request: web.Request) -> web.Response:
    """Delete (soft) one of your tokens; site admins may delete anyone's. Others' are 404."""
    svc, actor = services(request).tokens, signed_in_actor(request)
    return await no_content(svc.delete(actor, int_param(request, "id")))
