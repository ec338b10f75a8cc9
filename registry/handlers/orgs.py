"""Organizations: creation in the shared namespace, members, and invitations to join."""

from __future__ import annotations

from aiohttp import web

from registry.auth.authentication import request_actor
from registry.handlers.common import json_body, no_content, services
from registry.handlers.paging import page_request
from registry.http import json_response
from registry.views.accounts import invitation_json, member_json, org_json
from registry.views.common import page_json

routes = web.RouteTableDef()


@routes.post("/api/orgs")
async def create_org(request: web.Request) -> web.Response:
    """Create an org; its creator is its first member. Users and orgs share one namespace."""
    actor, svc = request_actor(request), services(request).orgs
    svc.founder(actor)
    body = await json_body(request, "OrgCreate")
    org = await svc.create(actor, body["name"], body.get("display_name"))
    return json_response(org_json(org), status=201, headers={"Location": f"/api/orgs/{org.name}"})


@routes.get("/api/orgs/{name}")
async def get_org(request: web.Request) -> web.Response:
    return json_response(org_json(await services(request).orgs.get(request.match_info["name"])))


@routes.patch("/api/orgs/{name}")
async def update_org(request: web.Request) -> web.Response:
    actor, svc = request_actor(request), services(request).orgs
    org = await svc.managed(actor, request.match_info["name"])
    body = await json_body(request, "OrgUpdate")
    return json_response(org_json(await svc.update(actor, org, body["display_name"])))


@routes.delete("/api/orgs/{name}")
async def delete_org(request: web.Request) -> web.Response:
    """Soft delete; the name is freed, or retired if it has been published under."""
    return await no_content(services(request).orgs.delete(request_actor(request), request.match_info["name"]))


@routes.get("/api/orgs/{name}/members")
async def list_members(request: web.Request) -> web.Response:
    actor, svc = request_actor(request), services(request).orgs
    org = await svc.managed(actor, request.match_info["name"])
    return json_response(page_json(await svc.members(actor, org, page_request(request)), member_json))


@routes.delete("/api/orgs/{name}/members/{username}")
async def remove_member(request: web.Request) -> web.Response:
    """Remove a member, never the last one; what they sent to the org is revoked with them."""
    name, username = request.match_info["name"], request.match_info["username"]
    return await no_content(services(request).orgs.remove_member(request_actor(request), name, username))


@routes.get("/api/orgs/{name}/invitations")
async def list_invitations(request: web.Request) -> web.Response:
    """The org's pending invitations, for its members (and site admins) to review and revoke."""
    actor, svc = request_actor(request), services(request)
    org = await svc.orgs.managed(actor, request.match_info["name"])
    return json_response(page_json(await svc.invitations.of_org(actor, org, page_request(request)), invitation_json))


@routes.post("/api/orgs/{name}/invitations")
async def invite(request: web.Request) -> web.Response:
    """Invite a user; one pending invitation per user and org (a second is 409 naming the first)."""
    actor, svc = request_actor(request), services(request)
    org = await svc.orgs.managed(actor, request.match_info["name"])
    body = await json_body(request, "InvitationCreate")
    invitation = await svc.invitations.invite(actor, org, body["username"])
    return json_response(
        invitation_json(invitation), status=201, headers={"Location": f"/api/invitations/{invitation.id}"}
    )
