"""Invitations to join an organization: pending, then accepted, declined or revoked, once.

An invitation carries its sender's authority, so it lives only as long as that authority does:
`sender_may_invite` says whether the sender could still invite (a live member of the org, or a
live site admin), and an invitation whose sender can no longer is never shown to its recipient
nor accepted. Removing a member or deleting a user also revokes what they sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class Invitation:
    id: int
    org_id: int
    org: str
    sender: str
    recipient: str
    recipient_user_id: int
    sender_user_id: int
    created_at: datetime
    notified_at: datetime | None
    responded_at: datetime | None
    accepted: bool | None
    revoked_at: datetime | None
    sender_may_invite: bool = True


# Whether the sender of invitation `i` (user `s`) could still send it.
_SENDER_MAY_INVITE = (
    "(s.deleted_at IS NULL AND (s.site_admin OR EXISTS ("
    "SELECT FROM org_members m WHERE m.org_id = i.org_id AND m.user_id = i.sender_user_id)))"
)
_PENDING = "i.responded_at IS NULL AND i.revoked_at IS NULL AND i.deleted_at IS NULL"

_SELECT = (
    "SELECT i.id, i.org_id, o.name::text AS org, s.username::text AS sender,"  # noqa: S608 (constants only)
    "       r.username::text AS recipient,"
    "       i.recipient_user_id, i.sender_user_id, i.created_at, i.notified_at, i.responded_at,"
    f"       i.response_type, i.revoked_at, {_SENDER_MAY_INVITE} AS sender_may_invite"
    "  FROM org_invitations i"
    "  JOIN orgs o ON o.id = i.org_id AND o.deleted_at IS NULL"
    "  JOIN users s ON s.id = i.sender_user_id"
    "  JOIN users r ON r.id = i.recipient_user_id AND r.deleted_at IS NULL"
)


def _invitation(row: asyncpg.Record) -> Invitation:
    return Invitation(
        row["id"], row["org_id"], row["org"], row["sender"], row["recipient"], row["recipient_user_id"],
        row["sender_user_id"], row["created_at"], row["notified_at"], row["responded_at"], row["response_type"],
        row["revoked_at"], row["sender_may_invite"],
    )  # fmt: skip


async def insert_invitation(conn: asyncpg.Connection, org_id: int, sender_id: int, recipient_id: int) -> int:
    """A pending invitation; `org_invitations_singleflight` allows one per (org, recipient)."""
    invitation_id: int = await conn.fetchval(
        "-- source: registry/store/invitations.py:insert_invitation\n"
        "INSERT INTO org_invitations (org_id, sender_user_id, recipient_user_id) VALUES ($1, $2, $3) RETURNING id",
        org_id,
        sender_id,
        recipient_id,
    )
    return invitation_id


async def pending_invitation_id(conn: asyncpg.Connection, org_id: int, recipient_id: int) -> int | None:
    found: int | None = await conn.fetchval(
        "-- source: registry/store/invitations.py:pending_invitation_id\n"
        "SELECT id FROM org_invitations WHERE org_id = $1 AND recipient_user_id = $2"
        " AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL",
        org_id,
        recipient_id,
    )
    return found


async def invitation_by_id(conn: asyncpg.Connection, invitation_id: int, *, lock: bool = False) -> Invitation | None:
    row = await conn.fetchrow(
        f"-- source: registry/store/invitations.py:invitation_by_id\n{_SELECT}"
        " WHERE i.id = $1 AND i.deleted_at IS NULL" + (" FOR UPDATE OF i" if lock else ""),
        invitation_id,
    )
    return _invitation(row) if row else None


async def pending_for_recipient(
    conn: asyncpg.Connection, recipient_id: int, *, after_id: int | None, limit: int
) -> list[Invitation]:
    """The recipient's pending invitations, marking them notified (the recipient has now seen them)."""
    # The CTE's new notified_at is not visible to the outer read of org_invitations (one snapshot),
    # so the outer query takes it from the CTE. Only module constants are formatted in.
    rows = await conn.fetch(
        "-- source: registry/store/invitations.py:pending_for_recipient\n"  # noqa: S608
        "WITH seen AS ("
        "  UPDATE org_invitations SET notified_at = coalesce(notified_at, now())"
        "   WHERE id IN (SELECT id FROM org_invitations"
        "                 WHERE recipient_user_id = $1 AND responded_at IS NULL AND revoked_at IS NULL"
        "                   AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3)"
        "  RETURNING id, notified_at"
        f") {_SELECT.replace('i.notified_at', 'seen.notified_at')} JOIN seen ON seen.id = i.id"
        f" WHERE {_SENDER_MAY_INVITE} ORDER BY i.id",
        recipient_id,
        after_id or 0,
        limit,
    )
    return [_invitation(row) for row in rows]


async def respond(conn: asyncpg.Connection, invitation_id: int, accept: bool) -> bool:
    """Answer a pending invitation; False when it was already answered or revoked."""
    status = await conn.execute(
        "-- source: registry/store/invitations.py:respond\n"
        "UPDATE org_invitations SET responded_at = now(), response_type = $2"
        " WHERE id = $1 AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL",
        invitation_id,
        accept,
    )
    return bool(status == "UPDATE 1")


async def revoke(conn: asyncpg.Connection, invitation_id: int) -> bool:
    status = await conn.execute(
        "-- source: registry/store/invitations.py:revoke\n"
        "UPDATE org_invitations SET revoked_at = now()"
        " WHERE id = $1 AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL",
        invitation_id,
    )
    return bool(status == "UPDATE 1")


async def pending_for_org(
    conn: asyncpg.Connection, org_id: int, *, after_id: int | None, limit: int
) -> list[Invitation]:
    """The org's pending invitations, for its members to review and revoke (paged by id)."""
    rows = await conn.fetch(
        f"-- source: registry/store/invitations.py:pending_for_org\n{_SELECT}"
        f" WHERE i.org_id = $1 AND {_PENDING} AND i.id > $2 ORDER BY i.id LIMIT $3",
        org_id,
        after_id or 0,
        limit,
    )
    return [_invitation(row) for row in rows]


async def revoke_sent_by(conn: asyncpg.Connection, sender_id: int, *, org_id: int | None = None) -> int:
    """Revoke the pending invitations `sender_id` sent (to `org_id`, or to any org): they carried
    authority the sender no longer has. How many were revoked."""
    status = await conn.execute(
        "-- source: registry/store/invitations.py:revoke_sent_by\n"
        "UPDATE org_invitations SET revoked_at = now()"
        " WHERE sender_user_id = $1 AND ($2::integer IS NULL OR org_id = $2)"
        "   AND responded_at IS NULL AND revoked_at IS NULL AND deleted_at IS NULL",
        sender_id,
        org_id,
    )
    return int(status.split()[-1])
