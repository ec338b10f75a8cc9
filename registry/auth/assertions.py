"""Signed assertions that an external account belongs to a user, from a configured provider.

Linking an external account says "this GitHub account is alice": an auth provider integration
then resolves the account to alice (POST /api/external-accounts/sign-in). Wharf cannot check such
a claim itself, so only two parties may make it: a site admin, or the provider that
authenticated the account, by signing it with the key it shares with Wharf
(`WHARF_EXTERNAL_ACCOUNT_SECRET`). Without a key, only site admins link.

The assertion is HMAC-SHA256, hex, over the JSON array

    ["wharf-external-account-v1", username, service_type, service_id, client_id, account_id, expires_at]

(the username in lower case; `expires_at` in Unix seconds, at most `MAX_LIFETIME` ahead), as
`json.dumps(array, separators=(",", ":"), ensure_ascii=False).encode()` writes it in Python (UTF-8,
no spaces). A JSON array keeps the fields apart whatever they contain. Signatures are compared in
constant time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from registry.names import fold_name
from registry.store.external_accounts import AccountSpec

VERSION = "wharf-external-account-v1"
MAX_LIFETIME = 3600  # seconds: an assertion is handed straight from the provider's callback to Wharf


def assertion_message(username: str, spec: AccountSpec, expires_at: int) -> bytes:
    name = fold_name(username) or username
    fields = [VERSION, name, spec.service_type, spec.service_id, spec.client_id, spec.account_id, expires_at]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def sign_assertion(secret: bytes, username: str, spec: AccountSpec, expires_at: int) -> str:
    return hmac.new(secret, assertion_message(username, spec, expires_at), hashlib.sha256).hexdigest()


def assertion_refusal(
    secret: bytes | None,
    username: str,
    spec: AccountSpec,
    assertion: dict[str, Any] | None,
    *,
    now: float | None = None,
) -> str | None:
    """Why `assertion` is not the configured provider's valid, unexpired signature of this link
    (None: it is); registry.auth.policy refuses the link with this reason."""
    if secret is None:
        return "Only a site admin may link an external account (no identity provider is configured)."
    if assertion is None:
        return "Linking an external account needs a site admin, or the identity provider's signed assertion."
    expires_at = assertion["expires_at"]
    moment = time.time() if now is None else now
    if not moment < expires_at <= moment + MAX_LIFETIME:
        return f"The assertion has expired (or expires more than {MAX_LIFETIME} seconds from now)."
    expected = sign_assertion(secret, username, spec, expires_at)
    if not hmac.compare_digest(expected.encode(), str(assertion["signature"]).encode()):
        return "The assertion's signature is not the identity provider's for this user and account."
    return None
