"""Organizations: creation in the shared namespace, members, and invitations to join."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from registry.auth import policy
from registry.auth.actor import request_actor
from registry.domain.actor import Actor
from registry.domain.errors import Conflict, NotFound
from registry.handlers.common import connection, json_body, transaction
from registry.handlers.invitations import render_invitation
from registry.http import json_response
from registry.pagination import Column, page_body, page_request
from registry.store import invitations as invitation_store
from registry.store import orgs as org_store
from registry.store import users as user_store
from registry.store.orgs import Member, Org

routes = web.RouteTableDef()


def render_org(org: Org) -> dict[str, Any]:
    return {
        "name": org.name,
        "display_name": org.display_name,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    }


def render_member(member: Member) -> dict[str, Any]:
    return {"username": member.username, "display_name": member.display_name, "joined_at": member.joined_at}


async def _org_for_member(request: web.Request, actor: Actor) -> Org:
    """The org named in the path, after checking the actor is a member or a site admin."""
    name = request.match_info["name"]
    async with connection(request) as conn:
        org = await org_store.org_by_name(conn, name)
        if org is None:
            raise NotFound(f"No organization named {name}.")
        user = policy.signed_in(actor)
        member = await org_store.is_member(conn, org.id, user.id)
    policy.require_member_or_site_admin(actor, member=member, org=org.name)
    return org


@routes.post("/api/orgs")
async def create_org(request: web.Request) -> web.Response:
    """Create an org; its creator is its first member. Users and orgs share one namespace."""
    user = policy.signed_in(request_actor(request))
    body = await json_body(request, "OrgCreate")
    async with transaction(request) as conn:
        org = await org_store.insert_org(conn, body["name"], body.get("display_name"))
        await user_store.claim_name(conn, org.name, org_id=org.id)
        await org_store.insert_member(conn, org.id, user.id)
    return json_response(render_org(org), status=201, headers={"Location": f"/api/orgs/{org.name}"})


@routes.get("/api/orgs/{name}")
async def get_org(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    async with connection(request) as conn:
        org = await org_store.org_by_name(conn, name)
    if org is None:
        raise NotFound(f"No organization named {name}.")
    return json_response(render_org(org))


@routes.patch("/api/orgs/{name}")
async def update_org(request: web.Request) -> web.Response:
    org = await _org_for_member(request, request_actor(request))
    body = await json_body(request, "OrgUpdate")
    async with transaction(request) as conn:
        updated = await org_store.update_org_display_name(conn, org.id, body["display_name"])
    if updated is None:
        raise NotFound(f"No organization named {org.name}.")
    return json_response(render_org(updated))


@routes.delete("/api/orgs/{name}")
async def delete_org(request: web.Request) -> web.Response:
    """Soft delete; the name is freed for a new user or org, unless it has been published under:
    then it is retired (migration 6), never someone else's."""
    org = await _org_for_member(request, request_actor(request))
    async with transaction(request) as conn:
        if not await org_store.soft_delete_org(conn, org.id):
            raise NotFound(f"No organization named {org.name}.")
        await user_store.release_name(conn, org_id=org.id)
    return web.Response(status=204)


@routes.get("/api/orgs/{name}/members")
async def list_members(request: web.Request) -> web.Response:
    org = await _org_for_member(request, request_actor(request))
    page = page_request(request)
    async with connection(request) as conn:
        members = await org_store.list_members(conn, org.id, after_id=page.after_id(Column.INT4), limit=page.limit + 1)
    return json_response(page_body(members, page, lambda m: [m.membership_id], render_member))


@routes.delete("/api/orgs/{name}/members/{username}")
async def remove_member(request: web.Request) -> web.Response:
    """Remove a member (members may remove themselves or others); never the last one. The pending
    invitations the member sent to the org are revoked with them."""
    org = await _org_for_member(request, request_actor(request))
    username = request.match_info["username"]
    async with transaction(request) as conn:
        if await org_store.org_by_name(conn, org.name, lock=True) is None:
            raise NotFound(f"No organization named {org.name}.")
        target = await user_store.user_by_username(conn, username)
        if target is None or not await org_store.is_member(conn, org.id, target.id):
            raise NotFound(f"{username} is not a member of {org.name}.")
        if await org_store.count_members(conn, org.id) <= 1:
            raise Conflict(f"{username} is the last member of {org.name}; an organization keeps at least one.")
        await org_store.delete_member(conn, org.id, target.id)
        await invitation_store.revoke_sent_by(conn, target.id, org_id=org.id)  # they carried its authority
    return web.Response(status=204)


@routes.get("/api/orgs/{name}/invitations")
async def list_invitations(request: web.Request) -> web.Response:
    """The org's pending invitations, for its members (and site admins) to review and revoke."""
    org = await _org_for_member(request, request_actor(request))
    page = page_request(request)
    async with connection(request) as conn:
        pending = await invitation_store.pending_for_org(
            conn, org.id, after_id=page.after_id(Column.INT8), limit=page.limit + 1
        )
    return json_response(page_body(pending, page, lambda i: [i.id], render_invitation))


@routes.post("/api/orgs/{name}/invitations")
async def invite(request: web.Request) -> web.Response:
    """Invite a user; one pending invitation per user and org (a second is 409 naming the first)."""
    actor = request_actor(request)
    org = await _org_for_member(request, actor)
    sender = policy.signed_in(actor)
    body = await json_body(request, "InvitationCreate")
    async with connection(request) as conn:
        recipient = await user_store.user_by_username(conn, body["username"])
        if recipient is None:
            raise NotFound(f"No user named {body['username']}.")
        if await org_store.is_member(conn, org.id, recipient.id):
            raise Conflict(f"{recipient.username} is already a member of {org.name}.")
    try:
        async with transaction(request) as conn:
            invitation_id = await invitation_store.insert_invitation(conn, org.id, sender.id, recipient.id)
            invitation = await invitation_store.invitation_by_id(conn, invitation_id)
    except Conflict as conflict:
        async with connection(request) as conn:
            pending = await invitation_store.pending_invitation_id(conn, org.id, recipient.id)
        conflict.extra["pending_invitation_id"] = pending
        raise
    assert invitation is not None
    return json_response(
        render_invitation(invitation), status=201, headers={"Location": f"/api/invitations/{invitation.id}"}
    )
