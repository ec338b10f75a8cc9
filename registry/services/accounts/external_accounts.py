"""External accounts: identities at other services (code hosts, identity providers) linked to users.

A user (or a site admin for them) lists and unlinks accounts. Linking one is a claim of identity
that sign-in trusts, so only a site admin may make it, or the user with the configured identity
provider's signed assertion (registry.auth.assertions). `auth_data`, the provider's tokens, is
stored but never returned. An auth provider integration resolves an external account to its user
through sign-in, with a site admin's `user:all` token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from registry.auth import policy
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.errors import Conflict, NotFound
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.store import external_accounts as account_store
from registry.store.external_accounts import AccountSpec, ExternalAccount
from registry.store.users import User
from registry.validation import INT4_MAX


class AccountTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("That external account is already linked to a user.")


class Link(Record):
    """A link asked for: the account, the provider's data, and the assertion vouching for it."""

    spec: AccountSpec
    auth_data: Any = None
    account_data: Any = None
    assertion: dict[str, Any] | None = None


class SignedIn(Record):
    """The live user an external account resolves to, and the id of the link."""

    user: User
    link_id: int


@dataclass(eq=False)
class ExternalAccounts:
    db: Database
    secret: bytes | None = field(repr=False)  # the identity provider's key for assertions (None: site admins only)

    async def link(self, actor: Actor, subject: User, link: Link) -> ExternalAccount:
        """Link an external account; it may be linked to one live user at a time (409 otherwise)."""
        policy.require_may_link_account(actor, subject, link.spec, link.assertion, secret=self.secret)
        async with self.db.transaction() as conn:
            await account_store.release_from_deleted_users(conn, link.spec)
            account = await account_store.insert_external_account(
                conn, subject.id, link.spec, auth_data=link.auth_data, account_data=link.account_data
            )
        if account is None:
            raise AccountTaken()
        return account

    async def list_accounts(self, actor: Actor, subject: User, page: PageRequest) -> Page[ExternalAccount]:
        policy.require_self_or_site_admin(actor, subject)
        return await self.db.read(account_store.list_external_accounts, subject.id, page)

    async def unlink(self, actor: Actor, subject: User, account_id: int) -> None:
        """Unlink (soft delete); the account may then be linked again, to anyone."""
        policy.require_self_or_site_admin(actor, subject)
        async with self.db.transaction() as conn:
            if account_id > INT4_MAX or not await account_store.delete_external_account(conn, subject.id, account_id):
                raise NotFound(f"{subject.username} has no external account {account_id}.")

    def integration(self, actor: Actor) -> None:
        """Sign-in is for an auth provider integration acting as a site admin (checked before a body is read)."""
        policy.require_site_admin(actor)

    async def sign_in(self, actor: Actor, spec: AccountSpec) -> SignedIn:
        """Resolve an external account to its live user. No token is minted: the integration gets
        the user's id and public profile and carries on. Unknown, unlinked, or deleted-user
        accounts are 404."""
        self.integration(actor)
        async with self.db.reading() as conn:
            found = await account_store.user_by_external_account(conn, spec)
        if found is None:
            raise NotFound("No live user has that external account linked.")
        return SignedIn(*found)
