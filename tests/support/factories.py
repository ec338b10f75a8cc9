"""Arranging state through the stores, fast: users, tokens, orgs, as the API would have left them
(the stores' own statements, so a factory never restates a rule; bcrypt cost 4, hashed once)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
import bcrypt

from registry.auth.tokens import new_token
from registry.store import emails as email_store
from registry.store import orgs as org_store
from registry.store import tokens as token_store
from registry.store import users as user_store

PASSWORD = "correct horse battery"
_HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


@dataclass(frozen=True)
class UserFixture:
    id: int
    username: str
    token: str  # a user:all token

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


async def make_token(db: asyncpg.Connection, user_id: int, scopes: Iterable[str] = ("user:all",)) -> str:
    value, digest = new_token()
    await token_store.insert_token(
        db, subject_user_id=user_id, creator_user_id=user_id, digest=digest, note="test", scopes=list(scopes)
    )
    return value


async def make_user(
    db: asyncpg.Connection, username: str, *, site_admin: bool = False, email: str | None = None
) -> UserFixture:
    user = await user_store.insert_user(
        db, username=username, display_name=None, password_hash=_HASH, site_admin=site_admin
    )
    await user_store.claim_name(db, username, user_id=user.id)
    if email:
        await email_store.insert_email(db, user.id, email, "code")
    await user_store.ensure_site_config(db, initialized=True)
    return UserFixture(user.id, username, await make_token(db, user.id))


async def make_org(db: asyncpg.Connection, name: str, members: Iterable[UserFixture] = ()) -> int:
    org = await org_store.insert_org(db, name, None)
    await user_store.claim_name(db, name, org_id=org.id)
    for member in members:
        await org_store.insert_member(db, org.id, member.id)
    return org.id


async def row_counts(db: asyncpg.Connection, tables: Iterable[str]) -> dict[str, int]:
    return {table: await db.fetchval(f"SELECT count(*) FROM {table}") for table in tables}
