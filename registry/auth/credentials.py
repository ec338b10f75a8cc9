"""Parsing the Authorization header (no database here).

Accepted: `token X`, `Bearer X`, `token-sudo user="NAME",token="X"` (a site admin acting as NAME),
and `Basic base64(username:password)`, which only token creation accepts.
"""

from __future__ import annotations

import base64
import binascii
import re

from registry.auth.tokens import MAX_TOKEN_LENGTH
from registry.domain.errors import Unauthorized
from registry.domain.record import Record

CHALLENGE = 'Bearer realm="wharf", Basic realm="wharf"'

_SUDO = re.compile(r'^user="(?P<user>[^"]{1,255})",\s*token="(?P<token>[^"]{1,200})"\Z')
_TOKEN = re.compile(rf"^[A-Za-z0-9_\-]{{1,{MAX_TOKEN_LENGTH}}}\Z")


class TokenCredential(Record):
    value: str
    sudo_user: str | None = None


class PasswordCredential(Record):
    username: str
    password: str = ""

    def __repr__(self) -> str:  # never let a password reach a log line
        return f"PasswordCredential(username={self.username!r}, password=***)"


def unauthorized(detail: str) -> Unauthorized:
    return Unauthorized(detail)  # registry.problems adds the challenge to every 401


def _token(value: str) -> str:
    if not _TOKEN.match(value):
        raise unauthorized("The token is malformed.")
    return value


def _basic(encoded: str) -> PasswordCredential:
    """RFC 7617 credentials. A header value is any text aiohttp decoded (non-ASCII too), and
    base64.b64decode refuses a non-ASCII str with a bare ValueError, not binascii.Error: so the
    alphabet is checked first, and every refusal is the same 401."""
    refused = unauthorized("Basic credentials must be base64 of username:password.")
    if not encoded.isascii():
        raise refused
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise refused from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise refused
    return PasswordCredential(username, password)


def parse_authorization(header: str) -> TokenCredential | PasswordCredential:
    scheme, _, rest = header.strip().partition(" ")
    scheme, rest = scheme.lower(), rest.strip()
    if scheme in ("token", "bearer") and rest:
        return TokenCredential(_token(rest))
    if scheme == "token-sudo":
        match = _SUDO.match(rest)
        if match is None:
            raise unauthorized('token-sudo takes user="NAME",token="TOKEN".')
        return TokenCredential(_token(match["token"]), sudo_user=match["user"])
    if scheme == "basic" and rest:
        return _basic(rest)
    raise unauthorized("Unsupported Authorization header: use `token TOKEN` or `Bearer TOKEN`.")
