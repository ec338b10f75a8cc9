"""Access token values: `wharf_` + 32 random bytes (base64url), stored only as their sha256.

A token has 256 bits of entropy, so a fast hash is the right tool (as GitHub and PyPI do):
nothing is gained from a slow one, and lookup stays a single index probe on the digest.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

TOKEN_PREFIX = "wharf_"  # noqa: S105 (a prefix that makes leaked tokens greppable, not a secret)
MAX_TOKEN_LENGTH = 200


class Scope(StrEnum):
    USER_ALL = "user:all"
    PUBLISH = "registry:publish"
    SUDO = "site-admin:sudo"


def new_token() -> tuple[str, bytes]:
    """A fresh token value and its digest; the value is shown once and never stored."""
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return value, token_digest(value)


def token_digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()
