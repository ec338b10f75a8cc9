"""JSON renderings of users, emails, tokens, orgs, members, invitations, external accounts and
retired publisher names."""

from __future__ import annotations

from typing import Any

from registry.services.accounts.users import Profile
from registry.store.emails import Email
from registry.store.external_accounts import ExternalAccount
from registry.store.invitations import Invitation
from registry.store.orgs import Member, Org
from registry.store.retired_names import RetiredName
from registry.store.tokens import Token
from registry.store.users import User
from registry.views.common import record_json


def user_json(user: User) -> dict[str, Any]:
    """The public profile."""
    return record_json(user, "username", "display_name", "avatar_url", "created_at")


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
    return record_json(email, "email", "created_at", "verified_at")


def token_json(token: Token) -> dict[str, Any]:
    return record_json(token, "id", "note", "scopes", "created_at", "last_used_at", "creator")


def org_json(org: Org) -> dict[str, Any]:
    return record_json(org, "name", "display_name", "created_at", "updated_at")


def member_json(member: Member) -> dict[str, Any]:
    return record_json(member, "username", "display_name", "joined_at")


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return record_json(invitation, "id", "org", "sender", "recipient", "created_at", "notified_at", "responded_at",
                       "accepted", "revoked_at")  # fmt: skip


def external_account_json(account: ExternalAccount) -> dict[str, Any]:
    """An external account as clients see it: never its auth_data (which no store reads back)."""
    return record_json(account, "id", "service_type", "service_id", "client_id", "account_id", "account_data",
                       "created_at", "updated_at")  # fmt: skip


def retired_name_json(retired: RetiredName) -> dict[str, Any]:
    """`redirects_to`: the former owner's current name, while it is live."""
    return {
        "name": retired.name,
        "former_owner_kind": retired.owner_kind,
        "redirects_to": retired.former_owner,
        "retired_at": retired.retired_at,
    }
