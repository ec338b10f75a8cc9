"""Organizations: created in the namespace users share, run by their members."""

from __future__ import annotations

from dataclasses import dataclass

from registry.auth import policy
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import Conflict
from registry.domain.page import Page, PageRequest
from registry.services import loaders
from registry.store import invitations as invitation_store
from registry.store import orgs as org_store
from registry.store import users as user_store
from registry.store.orgs import Member, Org, OrgMembership
from registry.store.users import User


class LastMember(Conflict):
    """An organization keeps at least one member: nobody could manage it otherwise."""


@dataclass(eq=False)
class Orgs:
    db: Database

    def founder(self, actor: Actor) -> User:
        """Who would create an org: any signed-in user (checked before a body is read)."""
        return policy.signed_in(actor)

    async def create(self, actor: Actor, name: str, display_name: str | None) -> Org:
        """Create an org; its creator is its first member. Users and orgs share one namespace."""
        user = self.founder(actor)
        async with self.db.transaction() as conn:
            org = await org_store.insert_org(conn, name, display_name)
            await user_store.claim_name(conn, org.name, org_id=org.id)
            await org_store.insert_member(conn, org.id, user.id)
        return org

    async def get(self, name: str) -> Org:
        return await self.db.read(loaders.org_named, name)

    async def managed(self, actor: Actor, name: str) -> OrgMembership:
        """The org named, which the actor must be a member of (or a site admin)."""
        async with self.db.reading() as conn:
            org = await loaders.org_membership(conn, name, actor.user)
        policy.require_member_or_site_admin(actor, org)
        return org

    async def update(self, actor: Actor, org: OrgMembership, display_name: str | None) -> Org:
        policy.require_member_or_site_admin(actor, org)
        async with self.db.transaction() as conn:
            updated = await org_store.update_org_display_name(conn, org.org.id, display_name)
        if updated is None:
            raise loaders.no_org_named(org.org.name)
        return updated

    async def delete(self, actor: Actor, name: str) -> None:
        """Soft delete; the name is freed for a new user or org, unless it has been published
        under: then it is retired (migration 6), never someone else's."""
        org = (await self.managed(actor, name)).org
        async with self.db.transaction() as conn:
            if not await org_store.soft_delete_org(conn, org.id):
                raise loaders.no_org_named(org.name)
            await user_store.release_name(conn, org_id=org.id)

    async def members(self, actor: Actor, org: OrgMembership, page: PageRequest) -> Page[Member]:
        policy.require_member_or_site_admin(actor, org)
        return await self.db.read(org_store.list_members, org.org.id, page)

    async def remove_member(self, actor: Actor, name: str, username: str) -> None:
        """Remove a member (members may remove themselves or others); never the last one. The
        pending invitations the member sent to the org are revoked with them: they carried its
        authority."""
        org = (await self.managed(actor, name)).org
        async with self.db.transaction() as conn:
            await loaders.org_named(conn, org.name, lock=True)
            target = await loaders.member_of(conn, org, username)
            if await org_store.count_members(conn, org.id) <= 1:
                raise LastMember(f"{username} is the last member of {org.name}; an organization keeps at least one.")
            await org_store.delete_member(conn, org.id, target.id)
            await invitation_store.revoke_sent_by(conn, target.id, org_id=org.id)
