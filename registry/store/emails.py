"""A user's email addresses and their verification."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow

_SQL = queries.load(__file__)


class Email(FromRow):
    email: str
    created_at: datetime
    verified_at: datetime | None


class PendingVerification(FromRow):
    email: str
    code: str | None
    verified_at: datetime | None


async def insert_email(conn: asyncpg.Connection, user_id: int, email: str, code: str) -> Email:
    return await _SQL.insert_email.single(conn, Email, user_id=user_id, email=email, code=code)


async def list_emails(conn: asyncpg.Connection, user_id: int) -> list[Email]:
    return await _SQL.list_emails.all(conn, Email, user_id=user_id)


async def verification_of(conn: asyncpg.Connection, user_id: int, email: str) -> PendingVerification | None:
    return await _SQL.verification_of.one(conn, PendingVerification, user_id=user_id, email=email)


async def mark_verified(conn: asyncpg.Connection, user_id: int, email: str) -> Email | None:
    """Verify the address (the EXCLUDE constraint lets one user at most hold it verified)."""
    return await _SQL.mark_verified.one(conn, Email, user_id=user_id, email=email)


async def delete_email(conn: asyncpg.Connection, user_id: int, email: str) -> bool:
    return await _SQL.delete_email.changed(conn, user_id=user_id, email=email) == 1
