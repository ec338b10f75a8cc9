"""Answering and revoking invitations (they are created under /api/orgs/{name}/invitations)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from registry.auth import policy
from registry.auth.actor import request_actor
from registry.domain.errors import Conflict, Forbidden, NotFound
from registry.handlers.common import int_param, json_body, transaction
from registry.http import json_response
from registry.pagination import Column, page_body, page_request
from registry.store import invitations as invitation_store
from registry.store import orgs as org_store
from registry.store.invitations import Invitation

routes = web.RouteTableDef()


def render_invitation(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "org": invitation.org,
        "sender": invitation.sender,
        "recipient": invitation.recipient,
        "created_at": invitation.created_at,
        "notified_at": invitation.notified_at,
        "responded_at": invitation.responded_at,
        "accepted": invitation.accepted,
        "revoked_at": invitation.revoked_at,
    }


def _settled(invitation: Invitation) -> Conflict | None:
    if invitation.revoked_at is not None:
        return Conflict(f"Invitation {invitation.id} was revoked.")
    if invitation.responded_at is not None:
        return Conflict(f"Invitation {invitation.id} was already {'accepted' if invitation.accepted else 'declined'}.")
    return None


def _lapsed(invitation: Invitation) -> Conflict | None:
    """An invitation carries its sender's authority: once the sender may no longer invite (removed
    from the org, deleted, no longer site admin), it can no longer be accepted."""
    if not invitation.sender_may_invite:
        return Conflict(
            f"Invitation {invitation.id} lapsed: {invitation.sender} may no longer invite to {invitation.org}."
        )
    return None


@routes.get("/api/user/invitations")
async def my_invitations(request: web.Request) -> web.Response:
    """The caller's pending invitations; listing them marks them notified."""
    user = policy.signed_in(request_actor(request))
    page = page_request(request)
    async with transaction(request) as conn:
        pending = await invitation_store.pending_for_recipient(
            conn, user.id, after_id=page.after_id(Column.INT8), limit=page.limit + 1
        )
    return json_response(page_body(pending, page, lambda i: [i.id], render_invitation))


@routes.post("/api/invitations/{id}/respond")
async def respond(request: web.Request) -> web.Response:
    """Accept (join the org, in the same transaction) or decline; only the recipient may, once, and
    only while the sender may still invite."""
    user = policy.signed_in(request_actor(request))
    invitation_id = int_param(request, "id")
    body = await json_body(request, "InvitationResponse")
    async with transaction(request) as conn:
        invitation = await invitation_store.invitation_by_id(conn, invitation_id, lock=True)
        if invitation is None or invitation.recipient_user_id != user.id:
            raise NotFound(f"You have no invitation {invitation_id}.")
        settled = _settled(invitation) or (_lapsed(invitation) if body["accept"] else None)
        if settled is not None:
            raise settled
        await invitation_store.respond(conn, invitation.id, body["accept"])
        if body["accept"] and not await org_store.is_member(conn, invitation.org_id, user.id):
            await org_store.insert_member(conn, invitation.org_id, user.id)
        answered = await invitation_store.invitation_by_id(conn, invitation.id)
    assert answered is not None
    return json_response(render_invitation(answered))


@routes.delete("/api/invitations/{id}")
async def revoke(request: web.Request) -> web.Response:
    """Revoke a pending invitation: its sender, any member of its org, or a site admin."""
    actor = request_actor(request)
    user = policy.signed_in(actor)
    invitation_id = int_param(request, "id")
    async with transaction(request) as conn:
        invitation = await invitation_store.invitation_by_id(conn, invitation_id, lock=True)
        if invitation is None:
            raise NotFound(f"No invitation {invitation_id}.")
        member = await org_store.is_member(conn, invitation.org_id, user.id)
        if not (member or invitation.sender_user_id == user.id or policy.is_site_admin(actor)):
            if invitation.recipient_user_id == user.id:
                raise Forbidden("The recipient declines an invitation (POST …/respond); revoking is the org's.")
            raise NotFound(f"No invitation {invitation_id}.")
        settled = _settled(invitation)
        if settled is not None:
            raise settled
        await invitation_store.revoke(conn, invitation.id)
    return web.Response(status=204)
