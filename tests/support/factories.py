"""Arranging state in plain SQL, fast: users, tokens, orgs, as the API would have left them."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg
import bcrypt

from registry.auth.tokens import new_token

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
    await db.execute(
        "INSERT INTO access_tokens (subject_user_id, creator_user_id, value_sha256, note, scopes)"
        " VALUES ($1, $1, $2, 'test', $3)",
        user_id,
        digest,
        list(scopes),
    )
    return value


async def make_user(
    db: asyncpg.Connection, username: str, *, site_admin: bool = False, email: str | None = None
) -> UserFixture:
    user_id = await db.fetchval(
        "INSERT INTO users (username, passwd, site_admin) VALUES ($1, $2, $3) RETURNING id", username, _HASH, site_admin
    )
    await db.execute("INSERT INTO names (name, user_id) VALUES ($1, $2)", username, user_id)
    if email:
        await db.execute(
            "INSERT INTO user_emails (user_id, email, verification_code) VALUES ($1, $2, 'code')", user_id, email
        )
    await db.execute(
        "INSERT INTO site_config (site_id, initialized) SELECT gen_random_uuid(), true"
        " WHERE NOT EXISTS (SELECT FROM site_config)"
    )
    return UserFixture(user_id, username, await make_token(db, user_id))


async def make_org(db: asyncpg.Connection, name: str, members: Iterable[UserFixture] = ()) -> int:
    org_id: int = await db.fetchval("INSERT INTO orgs (name) VALUES ($1) RETURNING id", name)
    await db.execute("INSERT INTO names (name, org_id) VALUES ($1, $2)", name, org_id)
    for member in members:
        await db.execute("INSERT INTO org_members (org_id, user_id) VALUES ($1, $2)", org_id, member.id)
    return org_id


async def row_counts(db: asyncpg.Connection, tables: Iterable[str]) -> dict[str, int]:
    return {table: await db.fetchval(f"SELECT count(*) FROM {table}") for table in tables}
