"""Authorization in one place: may this actor do this to this subject?

The rules, in order:
* anonymous → 401 (with a challenge) for anything that needs a user;
* a token acts only within its scopes: `user:all` covers everything its user may do,
  `registry:publish` only publishing, `site-admin:sudo` only acting as another user → 403;
* a user acts on themselves, an org member on their org, a site admin (with `user:all`) on anything;
* where existence itself is private (another user's token or invitation), the answer is 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from registry.auth.assertions import assertion_refusal
from registry.auth.credentials import unauthorized
from registry.auth.tokens import Scope
from registry.domain.actor import Actor
from registry.domain.errors import DomainError, Forbidden, NotFound
from registry.names import fold_name
from registry.store.discussions import Comment, Thread
from registry.store.external_accounts import AccountSpec
from registry.store.invitations import Invitation
from registry.store.licenses import Subscription
from registry.store.orgs import OrgMembership
from registry.store.publishers import Publisher
from registry.store.tokens import TokenRef
from registry.store.users import User


def signed_in(actor: Actor, scope: Scope = Scope.USER_ALL) -> User:
    """The acting user, whose credential must grant `scope` (user:all grants every scope)."""
    user = identified(actor)
    if scope not in actor.scopes and Scope.USER_ALL not in actor.scopes:
        granted = ", ".join(sorted(actor.scopes)) or "none"
        raise Forbidden(f"This token's scopes ({granted}) do not include {scope}.")
    return user


def identified(actor: Actor) -> User:
    """The acting user, whatever the credential's scopes (any valid token may ask who it is)."""
    if actor.user is None:
        raise unauthorized("This needs credentials: send `Authorization: token TOKEN`.")
    return actor.user


def is_site_admin(actor: Actor) -> bool:
    return actor.user is not None and actor.user.site_admin and Scope.USER_ALL in actor.scopes


def require_site_admin(actor: Actor) -> User:
    user = signed_in(actor)
    if not is_site_admin(actor):
        raise Forbidden("Only site admins may do this.")
    return user


def require_self_or_site_admin(actor: Actor, subject: User) -> User:
    user = signed_in(actor)
    if user.id != subject.id and not is_site_admin(actor):
        raise Forbidden(f"Only {subject.username} or a site admin may do this.")
    return user


# --- publishing ---------------------------------------------------------------------------------


def may_publish(actor: Actor, publisher: Publisher, *, member: bool) -> bool:
    """Whether `actor` may publish for `publisher` (`member`: the actor belongs to it, an org)."""
    try:
        require_may_publish(actor, publisher, member=member)
    except DomainError:
        return False
    return True


def require_may_publish(actor: Actor, publisher: Publisher, *, member: bool) -> User:
    """Publishing (creating extensions, releasing, yanking, deleting) needs `registry:publish` or
    `user:all`, and the publisher must be the actor, an org the actor belongs to (`member`, as
    registry.services.loaders.is_member loaded it), or the actor a site admin."""
    user = signed_in(actor, Scope.PUBLISH)
    if user.id == publisher.user_id or member or is_site_admin(actor):
        return user
    raise Forbidden(f"You may not publish for {publisher.name}.")


# --- licensing ---------------------------------------------------------------------------------


def require_may_list_subscriptions(actor: Actor, username: str | None) -> User:
    """A site admin lists anyone's subscriptions; a user only their own (by default, or by naming
    themselves in any case)."""
    user = signed_in(actor)
    if is_site_admin(actor) or username is None or fold_name(username) == fold_name(user.username):
        return user
    raise Forbidden(f"Only {username} or a site admin may list {username}'s subscriptions.")


def require_readable_subscription(actor: Actor, subscription: Subscription) -> User:
    """Its owner (who needs its license keys) and site admins read a subscription; to anyone else
    it does not exist."""
    user = signed_in(actor)
    if subscription.user_id != user.id and not is_site_admin(actor):
        raise NotFound(f"No subscription {subscription.id}.")
    return user


# --- settings -------------------------------------------------------------------------------------


def require_global_settings_access(actor: Actor, *, write: bool) -> User:
    """Every signed-in user reads the site's settings (their cascade starts there); site admins write them."""
    return require_site_admin(actor) if write else signed_in(actor)


def require_org_settings_access(actor: Actor, org: OrgMembership) -> User:
    """An org's settings: its members and site admins read and write them."""
    return require_member_or_site_admin(actor, org)


def require_user_settings_access(actor: Actor, subject: User) -> User:
    """A user's settings: the user and site admins read and write them."""
    return require_self_or_site_admin(actor, subject)


# --- discussions ----------------------------------------------------------------------------------


def require_thread_moderator(actor: Actor, thread: Thread) -> User:
    """Archiving or deleting a thread: its author or a site admin."""
    return _require_author_or_site_admin(actor, thread.author_user_id, "thread")


def require_comment_deleter(actor: Actor, comment: Comment) -> User:
    """Deleting a comment: its author or a site admin."""
    return _require_author_or_site_admin(actor, comment.author_user_id, "comment")


def require_comment_editor(actor: Actor, comment: Comment) -> User:
    """Editing a comment: its author only; a site admin deletes a comment, never rewrites it."""
    user = signed_in(actor)
    if user.id != comment.author_user_id:
        raise Forbidden("Only the author of this comment may edit it.")
    return user


def _require_author_or_site_admin(actor: Actor, author_id: int, what: str) -> User:
    user = signed_in(actor)
    if user.id != author_id and not is_site_admin(actor):
        raise Forbidden(f"Only the author of this {what} or a site admin may do this.")
    return user


# --- package index -----------------------------------------------------------------------------


def may_see_indexer_errors(actor: Actor) -> bool:
    """The indexer's errors name paths on the server (where sources are read from)."""
    return is_site_admin(actor)


# --- accounts: users, tokens, orgs, invitations, external accounts ---------------------------


def is_member(actor: Actor, org: OrgMembership) -> bool:
    """Whether the actor is a member of `org` (loaded with the membership of the actor's user)."""
    return actor.user is not None and org.user_id == actor.user.id and org.member


def require_member_or_site_admin(actor: Actor, org: OrgMembership) -> User:
    user = signed_in(actor)
    if not is_member(actor, org) and not is_site_admin(actor):
        raise Forbidden(f"Only members of {org.org.name} or a site admin may do this.")
    return user


def sees_private_profile(actor: Actor, subject: User) -> bool:
    """The user (with a `user:all` credential) and site admins see ids, flags and emails."""
    if actor.user is None:
        return False
    return (actor.user.id == subject.id and Scope.USER_ALL in actor.scopes) or is_site_admin(actor)


def require_may_grant_site_admin(actor: Actor) -> None:
    if not is_site_admin(actor):
        raise Forbidden("Only site admins may grant or revoke site admin.")


def require_may_create_token(actor: Actor, scopes: Iterable[str]) -> User:
    """Any signed-in user makes tokens for themselves; a sudo token only a site admin."""
    user = signed_in(actor)
    if Scope.SUDO in scopes and not is_site_admin(actor):
        raise Forbidden("Only site admins may create tokens with the site-admin:sudo scope.")
    return user


def require_may_sudo(holder: Actor) -> None:
    """`token-sudo` needs a site admin's token granting `site-admin:sudo` (`holder`: the token's own actor)."""
    if Scope.SUDO not in holder.scopes or holder.user is None or not holder.user.site_admin:
        raise Forbidden("token-sudo needs a site admin's token with the site-admin:sudo scope.")


def require_token_owner_or_site_admin(actor: Actor, token: TokenRef) -> User:
    """Another user's token is none of the actor's business: 404, as if it did not exist."""
    user = signed_in(actor)
    if token.owner_id != user.id and not is_site_admin(actor):
        raise NotFound(f"You have no token {token.id}.")
    return user


def require_recipient(actor: Actor, invitation: Invitation) -> User:
    """Only the recipient answers an invitation; to anyone else it does not exist (404)."""
    user = signed_in(actor)
    if invitation.recipient_user_id != user.id:
        raise NotFound(f"You have no invitation {invitation.id}.")
    return user


def require_may_revoke(actor: Actor, invitation: Invitation, org: OrgMembership) -> User:
    """Its sender, a member of its org (`org`, loaded with the actor's membership) or a site admin
    revokes an invitation; its recipient is told to decline; to anyone else it does not exist."""
    user = signed_in(actor)
    if is_member(actor, org) or invitation.sender_user_id == user.id or is_site_admin(actor):
        return user
    if invitation.recipient_user_id == user.id:
        raise Forbidden("The recipient declines an invitation (POST …/respond); revoking is the org's.")
    raise NotFound(f"No invitation {invitation.id}.")


def require_may_link_account(
    actor: Actor, subject: User, spec: AccountSpec, assertion: dict[str, Any] | None, *, secret: bytes | None
) -> User:
    """Linking claims an identity that sign-in trusts: a site admin may, for anyone; the user
    (or whoever manages them) only with the identity provider's signed assertion of the link."""
    user = require_self_or_site_admin(actor, subject)
    if is_site_admin(actor):
        return user
    refusal = assertion_refusal(secret, subject.username, spec, assertion)
    if refusal is not None:
        raise Forbidden(refusal)
    return user
