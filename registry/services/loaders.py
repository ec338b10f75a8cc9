"""Typed loaders: a resource by what names it, or the domain's NotFound with the message clients see.

Services load what they act on through these, so that each "No … named …" is written once. Where
existence itself is private (another user's token or invitation), registry.auth.policy decides
after the load, and answers 404 too.
"""

from __future__ import annotations

import asyncpg

from registry.domain.errors import NotFound
from registry.store import invitations as invitation_store
from registry.store import orgs as org_store
from registry.store import tokens as token_store
from registry.store import users as user_store
from registry.store.invitations import Invitation
from registry.store.orgs import Org, OrgMembership
from registry.store.tokens import TokenRef
from registry.store.users import User

# --- accounts ---------------------------------------------------------------------------------


async def user_named(conn: asyncpg.Connection, username: str) -> User:
    user = await user_store.user_by_username(conn, username)
    if user is None:
        raise NotFound(f"No user named {username}.")
    return user


def no_org_named(name: str) -> NotFound:
    return NotFound(f"No organization named {name}.")


async def org_named(conn: asyncpg.Connection, name: str, *, lock: bool = False) -> Org:
    """A live org; `lock` holds its row until the transaction ends (membership changes serialise on it)."""
    org = await org_store.org_by_name(conn, name, lock=lock)
    if org is None:
        raise no_org_named(name)
    return org


async def org_membership(conn: asyncpg.Connection, name: str, user: User | None) -> OrgMembership:
    """A live org and whether `user` (None: anonymous) is one of its members."""
    membership = await org_store.org_membership(conn, name, None if user is None else user.id)
    if membership is None:
        raise no_org_named(name)
    return membership


async def member_of(conn: asyncpg.Connection, org: Org, username: str) -> User:
    """A live user who is a member of `org`."""
    user = await user_store.user_by_username(conn, username)
    if user is None or not await org_store.is_member(conn, org.id, user.id):
        raise NotFound(f"{username} is not a member of {org.name}.")
    return user


async def token(conn: asyncpg.Connection, token_id: int) -> TokenRef:
    """A live token (whether the actor may see it is the policy's to say)."""
    found = await token_store.token_ref(conn, token_id)
    if found is None:
        raise NotFound(f"You have no token {token_id}.")
    return found


async def invitation(conn: asyncpg.Connection, invitation_id: int, *, to_recipient: bool = False) -> Invitation:
    """A live invitation, its row locked until the transaction ends (it is about to be answered or
    revoked). `to_recipient`: the recipient asks, and is told it is not theirs."""
    found = await invitation_store.invitation_by_id(conn, invitation_id, lock=True)
    if found is None:
        raise NotFound(
            f"You have no invitation {invitation_id}." if to_recipient else f"No invitation {invitation_id}."
        )
    return found
