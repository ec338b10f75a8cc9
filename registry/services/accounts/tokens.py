"""Access tokens: made with a password or a `user:all` token, shown once, stored as sha256."""

from __future__ import annotations

from dataclasses import dataclass

from registry.auth import policy
from registry.auth.tokens import new_token
from registry.db.database import Database
from registry.domain.actor import Actor
from registry.domain.page import Page, PageRequest
from registry.domain.record import Record
from registry.services import loaders
from registry.store import tokens as token_store
from registry.store.tokens import Token


class NewToken(Record):
    """A token just made, with its value: the only time the value is ever known to anyone."""

    token: Token
    value: str


@dataclass(eq=False)
class Tokens:
    db: Database

    async def create(self, actor: Actor, note: str, scopes: list[str]) -> NewToken:
        """A token for the actor's user; under token-sudo its creator is the site admin behind it."""
        wanted = sorted(set(scopes))
        user = policy.require_may_create_token(actor, wanted)
        value, digest = new_token()
        creator = actor.sudo_by or user
        async with self.db.transaction() as conn:
            token = await token_store.insert_token(
                conn, subject_user_id=user.id, creator_user_id=creator.id, digest=digest, note=note, scopes=wanted
            )
        return NewToken(token, value)

    async def list_tokens(self, actor: Actor, page: PageRequest) -> Page[Token]:
        user = policy.signed_in(actor)
        return await self.db.read(token_store.list_tokens, user.id, page)

    async def delete(self, actor: Actor, token_id: int) -> None:
        """Delete (soft) one of the actor's tokens; site admins may delete anyone's. Others' are 404."""
        policy.signed_in(actor)
        async with self.db.transaction() as conn:
            token = await loaders.token(conn, token_id)
            policy.require_token_owner_or_site_admin(actor, token)
            await token_store.delete_token(conn, token_id)
