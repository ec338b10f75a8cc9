"""Answering and revoking invitations (they are created under /api/orgs/{name}/invitations)."""

from __future__ import annotations

from aiohttp import web

from registry.handlers.common import int_param, json_body, no_content, services, signed_in_actor
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.views.accounts import invitation_json
from registry.views.common import page_json

routes = web.RouteTableDef()


@routes.get("/api/user/invitations")
async def my_invitations(request: web.Request) -> web.Response:
    """The caller's pending invitations; listing them marks them notified."""
    svc, actor = services(request).invitations, signed_in_actor(request)
    return json_response(page_json(await svc.mine(actor, page_request(request)), invitation_json))


@routes.post("/api/invitations/{id}/respond")
async def respond(request: web.Request) -> web.Response:
    """Accept (and join) or decline; only the recipient may, once, while the sender may still invite."""
    svc, actor = services(request).invitations, signed_in_actor(request)
    invitation_id = int_param(request, "id")
    body = await json_body(request, "InvitationResponse")
    return json_response(invitation_json(await svc.respond(actor, invitation_id, body["accept"])))


@routes.delete("/api/invitations/{id}")
async def revoke(request: web.Request) -> web.Response:
    """Revoke a pending invitation: its sender, any member of its org, or a site admin."""
    svc, actor = services(request).invitations, signed_in_actor(request)
    return await no_content(svc.revoke(actor, int_param(request, "id")))
