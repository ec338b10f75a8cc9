"""Users as the services see them: an `Actor` for a user the factories made, as a request signed
with one of its tokens would carry it."""

from __future__ import annotations

from registry.auth.tokens import Scope
from registry.domain.actor import Actor
from registry.services import Services
from registry.store import users as user_store
from tests.support.factories import UserFixture


async def actor_of(services: Services, user: UserFixture) -> Actor:
    """`user`, signed in with a user:all token."""
    async with services.db.reading() as conn:
        found = await user_store.user_by_id(conn, user.id)
    assert found is not None
    return Actor(found, frozenset({Scope.USER_ALL}))
