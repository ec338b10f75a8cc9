"""A user's email addresses and their verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Email:
    email: str
    created_at: datetime
    verified_at: datetime | None


@dataclass(frozen=True)
class PendingVerification:
    email: str
    code: str | None
    verified_at: datetime | None


async def insert_email(conn: asyncpg.Connection, user_id: int, email: str, code: str) -> Email:
    row = await conn.fetchrow(
        "-- source: registry/store/emails.py:insert_email\n"
        "INSERT INTO user_emails (user_id, email, verification_code) VALUES ($1, $2, $3)"
        " RETURNING email::text, created_at, verified_at",
        user_id,
        email,
        code,
    )
    return Email(row["email"], row["created_at"], row["verified_at"])


async def list_emails(conn: asyncpg.Connection, user_id: int) -> list[Email]:
    rows = await conn.fetch(
        "-- source: registry/store/emails.py:list_emails\n"
        "SELECT email::text, created_at, verified_at FROM user_emails WHERE user_id = $1 ORDER BY created_at, email",
        user_id,
    )
    return [Email(row["email"], row["created_at"], row["verified_at"]) for row in rows]


async def verification_of(conn: asyncpg.Connection, user_id: int, email: str) -> PendingVerification | None:
    row = await conn.fetchrow(
        "-- source: registry/store/emails.py:verification_of\n"
        "SELECT email::text, verification_code, verified_at FROM user_emails WHERE user_id = $1 AND email = $2",
        user_id,
        email,
    )
    return PendingVerification(row["email"], row["verification_code"], row["verified_at"]) if row else None


async def mark_verified(conn: asyncpg.Connection, user_id: int, email: str) -> Email | None:
    """Verify the address (the EXCLUDE constraint lets one user at most hold it verified)."""
    row = await conn.fetchrow(
        "-- source: registry/store/emails.py:mark_verified\n"
        "UPDATE user_emails SET verified_at = now(), verification_code = NULL"
        " WHERE user_id = $1 AND email = $2 AND verified_at IS NULL"
        " RETURNING email::text, created_at, verified_at",
        user_id,
        email,
    )
    return Email(row["email"], row["created_at"], row["verified_at"]) if row else None


async def delete_email(conn: asyncpg.Connection, user_id: int, email: str) -> bool:
    status = await conn.execute(
        "-- source: registry/store/emails.py:delete_email\nDELETE FROM user_emails WHERE user_id = $1 AND email = $2",
        user_id,
        email,
    )
    return bool(status == "DELETE 1")
