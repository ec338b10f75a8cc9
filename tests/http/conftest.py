"""The users most HTTP tests start from, as fixtures: each is made when the test names it, in the
order its parameters name them (so alice, then bob, then admin are users 1, 2 and 3)."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.factories import UserFixture, make_user


@pytest.fixture
async def alice(db: asyncpg.Connection) -> UserFixture:
    """alice, with a user:all token."""
    return await make_user(db, "alice")


@pytest.fixture
async def bob(db: asyncpg.Connection) -> UserFixture:
    """bob, with a user:all token."""
    return await make_user(db, "bob")


@pytest.fixture
async def admin(db: asyncpg.Connection) -> UserFixture:
    """root, a site admin, with a user:all token."""
    return await make_user(db, "root", site_admin=True)
