"""JSON renderings of users, emails, tokens, orgs, members, invitations and external accounts."""

from __future__ import annotations

from typing import Any

from registry.services.accounts.users import Profile
from registry.store.emails import Email
from registry.store.external_accounts import ExternalAccount
from registry.store.invitations import Invitation
from registry.store.orgs import Member, Org
from registry.store.tokens import Token
from registry.store.users import User


def user_json(user: User) -> dict[str, Any]:
    """The public profile."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
        "created_at": user.created_at,
    }


def profile_json(profile: Profile) -> dict[str, Any]:
    """The public profile, and when `private`, what only the user and site admins see."""
    body = user_json(profile.user)
    if profile.private:
        user = profile.user
        body.update(id=user.id, site_admin=user.site_admin, updated_at=user.updated_at)
        if profile.emails is not None:
            body["emails"] = [email_json(email) for email in profile.emails]
    return body


def email_json(email: Email) -> dict[str, Any]:
    return {"email": email.email, "created_at": email.created_at, "verified_at": email.verified_at}


def token_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.id,
        "note": token.note,
        "scopes": list(token.scopes),
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "creator": token.creator,
    }


def org_json(org: Org) -> dict[str, Any]:
    return {
        "name": org.name,
        "display_name": org.display_name,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
    }


def member_json(member: Member) -> dict[str, Any]:
    return {"username": member.username, "display_name": member.display_name, "joined_at": member.joined_at}


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "org": invitation.org,
        "sender": invitation.sender,
        "recipient": invitation.recipient,
        "created_at": invitation.created_at,
        "notified_at": invitation.notified_at,
        "responded_at": invitation.responded_at,
        "accepted": invitation.accepted,
        "revoked_at": invitation.revoked_at,
    }


def external_account_json(account: ExternalAccount) -> dict[str, Any]:
    """An external account as clients see it: never its auth_data (which no store reads back)."""
    return {
        "id": account.id,
        "service_type": account.service_type,
        "service_id": account.service_id,
        "client_id": account.client_id,
        "account_id": account.account_id,
        "account_data": account.account_data,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }
