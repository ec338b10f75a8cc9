"""Accounts: users and their emails, access tokens, organizations and their members, invitations
to join them, and the external accounts linked to users."""

from __future__ import annotations

from registry.services.accounts.emails import Emails
from registry.services.accounts.external_accounts import ExternalAccounts
from registry.services.accounts.invitations import Invitations
from registry.services.accounts.orgs import Orgs
from registry.services.accounts.tokens import Tokens
from registry.services.accounts.users import Users

__all__ = ["Emails", "ExternalAccounts", "Invitations", "Orgs", "Tokens", "Users"]
