"""Typed loaders: a resource by what names it, or the domain's NotFound with the message clients
have always seen.

Services load what they act on through these, on the connection they hold (the caller owns the
transaction), and then ask registry.auth.policy; so each "No … named …" is written once. Where
existence itself is private (another user's token or invitation), the policy decides after the
load, and answers 404 too.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from registry.domain.actor import Actor
from registry.domain.errors import NotFound, PublisherRenamed, or_raise
from registry.store import discussions as discussion_store
from registry.store import extensions as extension_store
from registry.store import invitations as invitation_store
from registry.store import licenses as license_store
from registry.store import orgs as org_store
from registry.store import package_index
from registry.store import retired_names as name_store
from registry.store import tokens as token_store
from registry.store import users as user_store
from registry.store.discussions import Comment, Thread
from registry.store.extensions import Extension
from registry.store.invitations import Invitation
from registry.store.licenses import Subscription
from registry.store.orgs import Org, OrgMembership
from registry.store.package_index import Repo
from registry.store.publishers import Publisher, publisher_by_name
from registry.store.tokens import TokenRef
from registry.store.users import User

# --- accounts ---------------------------------------------------------------------------------


async def user_named(conn: asyncpg.Connection, username: str) -> User:
    return or_raise(await user_store.user_by_username(conn, username), NotFound(f"No user named {username}."))


def no_org_named(name: str) -> NotFound:
    return NotFound(f"No organization named {name}.")


async def org_named(conn: asyncpg.Connection, name: str, *, lock: bool = False) -> Org:
    """A live org; `lock` holds its row until the transaction ends (membership changes serialise on it)."""
    return or_raise(await org_store.org_by_name(conn, name, lock=lock), no_org_named(name))


async def org_membership(conn: asyncpg.Connection, name: str, user: User | None) -> OrgMembership:
    """A live org and whether `user` (None: anonymous) is one of its members."""
    return or_raise(await org_store.org_membership(conn, name, None if user is None else user.id), no_org_named(name))


async def member_of(conn: asyncpg.Connection, org: Org, username: str) -> User:
    """A live user who is a member of `org`."""
    user = await user_store.user_by_username(conn, username)
    if user is None or not await org_store.is_member(conn, org.id, user.id):
        raise NotFound(f"{username} is not a member of {org.name}.")
    return user


async def token(conn: asyncpg.Connection, token_id: int) -> TokenRef:
    """A live token (whether the actor may see it is the policy's to say)."""
    return or_raise(await token_store.token_ref(conn, token_id), NotFound(f"You have no token {token_id}."))


async def invitation(conn: asyncpg.Connection, invitation_id: int, *, to_recipient: bool = False) -> Invitation:
    """A live invitation, its row locked until the transaction ends (it is about to be answered or
    revoked). `to_recipient`: the recipient asks, and is told it is not theirs."""
    missing = f"You have no invitation {invitation_id}." if to_recipient else f"No invitation {invitation_id}."
    return or_raise(await invitation_store.invitation_by_id(conn, invitation_id, lock=True), NotFound(missing))


# --- publishing ---------------------------------------------------------------------------------


async def _not_found_under(conn: asyncpg.Connection, publisher: str, detail: str) -> NotFound:
    current = await name_store.redirect_target(conn, publisher)
    return NotFound(detail) if current is None else PublisherRenamed(detail, current_name=current)


async def live_publisher(conn: asyncpg.Connection, name: str) -> Publisher:
    """The live user or org holding `name`; PublisherRenamed for a renamed one's old name."""
    publisher = await publisher_by_name(conn, name)
    if publisher is None:
        raise await _not_found_under(conn, name, f"No user or organization named {name}.")
    return publisher


async def live_extension(conn: asyncpg.Connection, publisher: str, name: str) -> Extension:
    """A live extension by `publisher/name`; PublisherRenamed under a renamed publisher's old name."""
    extension = await extension_store.extension_by_name(conn, publisher, name)
    if extension is None:
        raise await _not_found_under(conn, publisher, f"No extension {publisher}/{name}.")
    return extension


async def is_member(conn: asyncpg.Connection, publisher: Publisher, actor: Actor) -> bool:
    """Whether the acting user belongs to `publisher` (an org; never for a user or anonymous)."""
    if publisher.org_id is None or actor.user is None:
        return False
    return await org_store.is_member(conn, publisher.org_id, actor.user.id)


# --- discussions ----------------------------------------------------------------------------------


def thread_not_found(thread_id: int) -> NotFound:
    return NotFound(f"No discussion thread {thread_id}.")


def comment_not_found(comment_id: int) -> NotFound:
    return NotFound(f"No discussion comment {comment_id}.")


async def discussion_thread(conn: asyncpg.Connection, thread_id: int) -> Thread:
    """A thread that is not deleted."""
    return or_raise(await discussion_store.thread_by_id(conn, thread_id), thread_not_found(thread_id))


async def locked_discussion_thread(conn: asyncpg.Connection, thread_id: int) -> Thread:
    """A thread that is not deleted, its row locked until the transaction ends (writes to it serialise)."""
    return or_raise(await discussion_store.thread_by_id(conn, thread_id, lock=True), thread_not_found(thread_id))


async def locked_discussion_comment(conn: asyncpg.Connection, comment_id: int) -> Comment:
    """A comment that is not deleted, in a thread that is not deleted, its row locked."""
    return or_raise(await discussion_store.comment_by_id(conn, comment_id, lock=True), comment_not_found(comment_id))


# --- licensing ---------------------------------------------------------------------------------


async def subscription(conn: asyncpg.Connection, subscription_id: UUID, *, lock: bool = False) -> Subscription:
    """A subscription; with `lock`, its row stays locked until the transaction ends."""
    return or_raise(
        await license_store.subscription_by_id(conn, subscription_id, lock=lock),
        NotFound(f"No subscription {subscription_id}."),
    )


# -- package index -----------------------------------------------------------------------------


async def repo_named(conn: asyncpg.Connection, uri: str) -> Repo:
    return or_raise(await package_index.repo_by_uri(conn, uri), NotFound(f"No repository {uri}."))
