"""Invitations to join an organization: sent by its members, answered once by the recipient.

An invitation carries its sender's authority: once the sender may no longer invite (removed from
the org, deleted, no longer site admin), it can no longer be accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.auth import policy
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import Conflict, NotFound
from registry.domain.page import Page, PageRequest
from registry.services import loaders
from registry.store import invitations as invitation_store
from registry.store import orgs as org_store
from registry.store.invitations import Invitation
from registry.store.orgs import OrgMembership


class AlreadyMember(Conflict):
    pass


class InvitationSettled(Conflict):
    """Revoked, accepted or declined already: an invitation is answered once."""


class InvitationLapsed(Conflict):
    """Its sender may no longer invite to the org."""


def refusal_to_settle(invitation: Invitation, *, accepting: bool) -> Conflict | None:
    """Why `invitation` can be neither answered nor revoked (None: it can)."""
    if invitation.revoked_at is not None:
        return InvitationSettled(f"Invitation {invitation.id} was revoked.")
    if invitation.responded_at is not None:
        answer = "accepted" if invitation.accepted else "declined"
        return InvitationSettled(f"Invitation {invitation.id} was already {answer}.")
    if accepting and not invitation.sender_may_invite:
        return InvitationLapsed(
            f"Invitation {invitation.id} lapsed: {invitation.sender} may no longer invite to {invitation.org}."
        )
    return None


@dataclass(eq=False)
class Invitations:
    db: Database

    async def of_org(self, actor: Actor, org: OrgMembership, page: PageRequest) -> Page[Invitation]:
        """The org's pending invitations, for its members (and site admins) to review and revoke."""
        policy.require_member_or_site_admin(actor, org)
        return await self.db.read(invitation_store.pending_for_org, org.org.id, page)

    async def invite(self, actor: Actor, org: OrgMembership, username: str) -> Invitation:
        """Invite a user; one pending invitation per user and org (a second is 409 naming the first)."""
        sender = policy.require_member_or_site_admin(actor, org)
        async with self.db.reading() as conn:
            recipient = await loaders.user_named(conn, username)
            if await org_store.is_member(conn, org.org.id, recipient.id):
                raise AlreadyMember(f"{recipient.username} is already a member of {org.org.name}.")
        try:
            async with self.db.transaction() as conn:
                invitation_id = await invitation_store.insert_invitation(conn, org.org.id, sender.id, recipient.id)
                return await loaders.invitation(conn, invitation_id)
        except Conflict as conflict:
            async with self.db.reading() as conn:
                pending = await invitation_store.pending_invitation_id(conn, org.org.id, recipient.id)
            conflict.extra["pending_invitation_id"] = pending
            raise

    async def mine(self, actor: Actor, page: PageRequest) -> Page[Invitation]:
        """The actor's pending invitations; listing them marks them notified."""
        user = policy.signed_in(actor)
        return await self.db.write(invitation_store.pending_for_recipient, user.id, page)

    async def respond(self, actor: Actor, invitation_id: int, accept: bool) -> Invitation:
        """Accept (join the org, in the same transaction) or decline; only the recipient may, once,
        and only while the sender may still invite."""
        user = policy.signed_in(actor)
        async with self.db.transaction() as conn:
            invitation = await loaders.invitation(conn, invitation_id, to_recipient=True)
            policy.require_recipient(actor, invitation)
            refusal = refusal_to_settle(invitation, accepting=accept)
            if refusal is not None:
                raise refusal
            await invitation_store.respond(conn, invitation.id, accept)
            if accept and not await org_store.is_member(conn, invitation.org_id, user.id):
                await org_store.insert_member(conn, invitation.org_id, user.id)
            answered = await invitation_store.invitation_by_id(conn, invitation.id)
        if answered is None:  # the org or the recipient was deleted meanwhile
            raise NotFound(f"You have no invitation {invitation_id}.")
        return answered

    async def revoke(self, actor: Actor, invitation_id: int) -> None:
        """Revoke a pending invitation: its sender, any member of its org, or a site admin."""
        policy.signed_in(actor)
        async with self.db.transaction() as conn:
            invitation = await loaders.invitation(conn, invitation_id)
            org = await org_store.org_membership(conn, invitation.org, None if actor.user is None else actor.user.id)
            if org is None:
                raise NotFound(f"No invitation {invitation_id}.")
            policy.require_may_revoke(actor, invitation, org)
            refusal = refusal_to_settle(invitation, accepting=False)
            if refusal is not None:
                raise refusal
            await invitation_store.revoke(conn, invitation.id)
