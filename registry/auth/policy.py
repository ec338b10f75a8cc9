"""Authorization in one place: may this actor do this to this subject?

The rules, in order:
* anonymous → 401 (with a challenge) for anything that needs a user;
* a token acts only within its scopes: `user:all` covers everything its user may do,
  `registry:publish` only publishing, `site-admin:sudo` only acting as another user → 403;
* a user acts on themselves, an org member on their org, a site admin (with `user:all`) on anything;
* where existence itself is private (another user's token or invitation), the answer is 404.
"""

from __future__ import annotations

from registry.auth.credentials import unauthorized
from registry.auth.tokens import Scope
from registry.domain.actor import Actor
from registry.domain.errors import DomainError, Forbidden
from registry.store.publishers import Publisher
from registry.store.users import User


def signed_in(actor: Actor, scope: Scope = Scope.USER_ALL) -> User:
    """The acting user, whose credential must grant `scope` (user:all grants every scope)."""
    if actor.user is None:
        raise unauthorized("This needs credentials: send `Authorization: token TOKEN`.")
    if scope not in actor.scopes and Scope.USER_ALL not in actor.scopes:
        granted = ", ".join(sorted(actor.scopes)) or "none"
        raise Forbidden(f"This token's scopes ({granted}) do not include {scope}.")
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


def require_member_or_site_admin(actor: Actor, *, member: bool, org: str) -> User:
    user = signed_in(actor)
    if not member and not is_site_admin(actor):
        raise Forbidden(f"Only members of {org} or a site admin may do this.")
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
