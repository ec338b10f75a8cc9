"""Invitations to join an organization: pending, then accepted, declined or revoked, once.

An invitation carries its sender's authority, so it lives only as long as that authority does:
`sender_may_invite` says whether the sender could still invite (a live member of the org, or a
live site admin), and an invitation whose sender can no longer is never shown to its recipient
nor accepted. Removing a member or deleting a user also revokes what they sent.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from registry.db import queries
from registry.db.queries import FromRow, Keyset
from registry.domain.page import Column, Page, PageRequest

_SQL = queries.load(__file__)


class Invitation(FromRow):
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


_BY_ID = Keyset.by_id(Column.INT8)


async def insert_invitation(conn: asyncpg.Connection, org_id: int, sender_id: int, recipient_id: int) -> int:
    """A pending invitation; `org_invitations_singleflight` allows one per (org, recipient)."""
    invitation_id: int = await _SQL.insert_invitation.fetchval(
        conn, org_id=org_id, sender_id=sender_id, recipient_id=recipient_id
    )
    return invitation_id


async def pending_invitation_id(conn: asyncpg.Connection, org_id: int, recipient_id: int) -> int | None:
    found: int | None = await _SQL.pending_invitation_id.fetchval(conn, org_id=org_id, recipient_id=recipient_id)
    return found


async def invitation_by_id(conn: asyncpg.Connection, invitation_id: int, *, lock: bool = False) -> Invitation | None:
    """A live invitation (see live_org_invitations); `lock` takes its row first, until the transaction ends."""
    if lock:
        await _SQL.lock_invitation.execute(conn, invitation_id=invitation_id)
    return await _SQL.invitation_by_id.one(conn, Invitation, invitation_id=invitation_id)


async def pending_for_recipient(conn: asyncpg.Connection, recipient_id: int, page: PageRequest) -> Page[Invitation]:
    """The recipient's pending invitations, marking them notified (the recipient has now seen them)."""
    return await _SQL.pending_for_recipient.page(conn, Invitation, _BY_ID, page, recipient_id=recipient_id)


async def respond(conn: asyncpg.Connection, invitation_id: int, accept: bool) -> bool:
    """Answer a pending invitation; False when it was already answered or revoked."""
    return await _SQL.respond.changed(conn, invitation_id=invitation_id, accept=accept) == 1


async def revoke(conn: asyncpg.Connection, invitation_id: int) -> bool:
    return await _SQL.revoke.changed(conn, invitation_id=invitation_id) == 1


async def pending_for_org(conn: asyncpg.Connection, org_id: int, page: PageRequest) -> Page[Invitation]:
    """The org's pending invitations, for its members to review and revoke (paged by id)."""
    return await _SQL.pending_for_org.page(conn, Invitation, _BY_ID, page, org_id=org_id)


async def revoke_sent_by(conn: asyncpg.Connection, sender_id: int, *, org_id: int | None = None) -> int:
    """Revoke the pending invitations `sender_id` sent (to `org_id`, or to any org): they carried
    authority the sender no longer has. How many were revoked."""
    return await _SQL.revoke_sent_by.changed(conn, sender_id=sender_id, org_id=org_id)
