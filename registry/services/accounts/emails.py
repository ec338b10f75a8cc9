"""A user's email addresses: adding one mails a code, which verifies it."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from registry.auth import policy
from registry.auth.throttle import RateLimits
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import NotFound, Unprocessable
from registry.mail import Mailer
from registry.services.accounts.users import Users, send_verification
from registry.store import emails as email_store
from registry.store.emails import Email
from registry.store.users import User


def no_such_address(subject: User, email: str) -> NotFound:
    return NotFound(f"{subject.username} has no email address {email}.")


@dataclass(eq=False)
class Emails:
    db: Database
    users: Users
    mailer: Mailer
    limits: RateLimits

    async def list_emails(self, actor: Actor, username: str) -> list[Email]:
        subject = await self.users.managed(actor, username)
        return await self.db.read(email_store.list_emails, subject.id)

    async def add(self, actor: Actor, subject: User, email: str, client: str | None) -> Email:
        """Add an address and mail it a code; the mails are limited per client address and per
        recipient, except a site admin's."""
        policy.require_self_or_site_admin(actor, subject)
        if not policy.is_site_admin(actor):
            await self.limits.verification_mail(client, email)
        code = secrets.token_urlsafe(24)
        async with self.db.transaction() as conn:
            added = await email_store.insert_email(conn, subject.id, email, code)
        await send_verification(self.mailer, added.email, code)
        return added

    async def verify(self, actor: Actor, subject: User, email: str, code: str | None) -> Email:
        """Verify with the mailed code (site admins may verify without one). Idempotent."""
        policy.require_self_or_site_admin(actor, subject)
        async with self.db.transaction() as conn:
            pending = await email_store.verification_of(conn, subject.id, email)
            if pending is None:
                raise no_such_address(subject, email)
            if pending.verified_at is None:
                if code is None:
                    accepted = policy.is_site_admin(actor)
                else:
                    accepted = hmac.compare_digest((pending.code or "").encode(), code.encode())
                if not accepted:
                    raise Unprocessable.at("/code", "must be the code sent to the address")
                await email_store.mark_verified(conn, subject.id, pending.email)
            emails = await email_store.list_emails(conn, subject.id)
        return next(found for found in emails if found.email.lower() == pending.email.lower())

    async def delete(self, actor: Actor, username: str, email: str) -> None:
        subject = await self.users.managed(actor, username)
        async with self.db.transaction() as conn:
            if not await email_store.delete_email(conn, subject.id, email):
                raise no_such_address(subject, email)
