"""Users: sign-up, profiles, renames and soft deletion."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.auth import policy
from registry.auth.passwords import MAX_PASSWORD_BYTES, PasswordHasher
from registry.auth.throttle import RateLimits
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import Conflict, NotFound, Unprocessable
from registry.domain.record import Record
from registry.mail import Mailer
from registry.services import loaders
from registry.store import discussions as discussion_store
from registry.store import emails as email_store
from registry.store import invitations as invitation_store
from registry.store import tokens as token_store
from registry.store import users as user_store
from registry.store.emails import Email
from registry.store.users import User

# Whether a password is the user's (username, password): the HTTP side passes the authenticator's
# throttled check, so that a PATCH cannot be used to guess passwords faster than sign-in can.
PasswordCheck = Callable[[str, str], Awaitable[bool]]


class LastSiteAdmin(Conflict):
    def __init__(self) -> None:
        super().__init__("This is the last site admin; make another user site admin first.")


class SignUp(Record):
    username: str
    email: str
    password: str
    display_name: str | None = None


class UserUpdate(Record):
    """What a PATCH names: `profile` holds the given ones of username, display_name and avatar_url
    (a display name or avatar may be set to None); None elsewhere leaves a field as it is."""

    profile: Mapping[str, str | None] = field(default_factory=dict)
    site_admin: bool | None = None
    password: str | None = None
    current_password: str | None = None


class Profile(Record):
    """A user as the actor may see them: `emails` (and the private fields) only when `private`."""

    user: User
    private: bool = False
    emails: list[Email] | None = None


def check_password_length(password: str, pointer: str) -> None:
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise Unprocessable.at(pointer, f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8")


async def send_verification(mailer: Mailer, email: str, code: str) -> None:
    await mailer.send(email, "Verify your email address for Wharf", f"Your verification code is: {code}")


@dataclass(eq=False)
class Users:
    db: Database
    hasher: PasswordHasher
    mailer: Mailer
    limits: RateLimits
    open_signup: bool

    def authorize_sign_up(self, actor: Actor) -> None:
        """With open sign-up off, only site admins create users (checked before reading a body)."""
        if not self.open_signup:
            policy.require_site_admin(actor)

    async def sign_up(self, actor: Actor, form: SignUp, client: str | None) -> Profile:
        """Create a user. The first user of a site becomes its site admin. Sign-ups and their
        verification mails are limited per client address (and mails per recipient) before the
        bcrypt hash, so a flood costs the site nothing; site admins are not limited."""
        self.authorize_sign_up(actor)
        check_password_length(form.password, "/password")
        if not policy.is_site_admin(actor):
            await self.limits.sign_up(client)
            await self.limits.verification_mail(client, form.email)
        password_hash = await self.hasher.hash(form.password)
        code = secrets.token_urlsafe(24)
        async with self.db.transaction() as conn:
            first = not await user_store.site_initialized(conn) and not await user_store.site_initialized(
                conn, lock=True
            )
            user = await user_store.insert_user(
                conn,
                username=form.username,
                display_name=form.display_name,
                password_hash=password_hash,
                site_admin=first,
            )
            await user_store.claim_name(conn, user.username, user_id=user.id)
            email = await email_store.insert_email(conn, user.id, form.email, code)
            if first:
                await user_store.mark_site_initialized(conn)
        await send_verification(self.mailer, email.email, code)
        return Profile(user, private=True, emails=[email])

    async def me(self, actor: Actor) -> Profile:
        """The credential's own user; any valid token may ask who it belongs to."""
        user = policy.identified(actor)
        async with self.db.reading() as conn:
            return Profile(user, private=True, emails=await email_store.list_emails(conn, user.id))

    async def profile(self, actor: Actor, username: str) -> Profile:
        async with self.db.reading() as conn:
            user = await loaders.user_named(conn, username)
            if not policy.sees_private_profile(actor, user):
                return Profile(user)
            return Profile(user, private=True, emails=await email_store.list_emails(conn, user.id))

    async def managed(self, actor: Actor, username: str) -> User:
        """The user named, whom the actor must be (or administer)."""
        async with self.db.reading() as conn:
            subject = await loaders.user_named(conn, username)
        policy.require_self_or_site_admin(actor, subject)
        return subject

    async def update(self, actor: Actor, subject: User, update: UserUpdate, check_password: PasswordCheck) -> Profile:
        """Change a profile. A new password also deletes the user's access tokens, all but the one
        making the change, and revokes their mail reply tokens: whoever changes a password may be
        shutting out someone who learned the old one, and any token minted with it is as suspect as
        the password. The requesting token is kept so the tool making the change is not cut off
        mid-session (it is the user's own, or a site admin's)."""
        policy.require_self_or_site_admin(actor, subject)
        changes = await self._changes(actor, subject, update, check_password)
        async with self.db.transaction() as conn:
            if (
                changes.get("site_admin") is False
                and subject.site_admin
                and await user_store.count_site_admins(conn) <= 1
            ):
                raise LastSiteAdmin()
            updated = await user_store.update_user(conn, subject.id, changes) if changes else subject
            if updated is None:
                raise NotFound(f"No user named {subject.username}.")
            if updated.username != subject.username:
                await user_store.rename_user_name(conn, subject.id, updated.username)
            if "passwd" in changes:
                await token_store.delete_tokens_of(conn, subject.id, keep=actor.token_id)
                await discussion_store.revoke_all_reply_tokens(conn, subject.id)
            emails = await email_store.list_emails(conn, subject.id)
        return Profile(updated, private=True, emails=emails)

    async def _changes(
        self, actor: Actor, subject: User, update: UserUpdate, check_password: PasswordCheck
    ) -> dict[str, Any]:
        """The column changes `update` asks for, after the rules only code can check."""
        changes: dict[str, Any] = dict(update.profile)
        if update.site_admin is not None:
            policy.require_may_grant_site_admin(actor)
            changes["site_admin"] = update.site_admin
        if update.password is not None:
            check_password_length(update.password, "/password")
            if not policy.is_site_admin(actor):
                current = update.current_password
                if current is None or not await check_password(subject.username, current):
                    raise Unprocessable.at("/current_password", "must be the current password")
            changes["passwd"] = await self.hasher.hash(update.password)
        return changes

    async def delete(self, actor: Actor, username: str) -> None:
        """Soft delete: the user's tokens stop working at once; the username is freed, unless it
        has been published under: then it is retired (migration 6), never someone else's."""
        subject = await self.managed(actor, username)
        async with self.db.transaction() as conn:
            if subject.site_admin and await user_store.count_site_admins(conn) <= 1:
                raise LastSiteAdmin()
            if not await user_store.soft_delete_user(conn, subject.id):
                raise NotFound(f"No user named {subject.username}.")
            await user_store.release_name(conn, user_id=subject.id)
            await invitation_store.revoke_sent_by(conn, subject.id)  # they carried the user's authority
