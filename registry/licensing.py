"""Product license keys: Ed25519-signed, verifiable offline with the published public key.

A license key is `base64url(payload) + "." + base64url(signature)` (no padding), where the payload
is deterministic JSON (orjson, sorted keys) and the signature is Ed25519 over the ASCII bytes of
the first segment, so that any change to the key's text, even one base64 would decode to the same
bytes, fails verification. This module is pure: no I/O but reading a key file, no clock but the
one passed in.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from registry.config import ConfigError
from registry.domain.record import Record

LICENSE_VERSION = 1
SIGNING_KEY_CACHE_KEY = "wharf:license-signing-key"
"""The reserved `cert_cache.cache_key` of the generated signing key (base64 of its PEM)."""

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_SIGNATURE_BYTES = 64
_PAYLOAD_FIELDS = {"version", "license_id", "subscription_id", "tags", "user_count", "expires_at"}

Reason = Literal["signature", "expired", "malformed"]


class Verification(Record):
    """The answer for one license key: `license` is the payload when its signature is good."""

    valid: bool
    reason: Reason | None
    license: dict[str, Any] | None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(segment: str) -> bytes | None:
    """Strict base64url without padding; None for anything else."""
    if not _SEGMENT.fullmatch(segment):
        return None
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def rfc3339(moment: datetime) -> str:
    """A moment in UTC as RFC 3339 with a `Z` (microseconds only when there are some)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_private_key_pem(data: bytes, source: str) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key from PEM; ConfigError naming `source` otherwise."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"{source} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{source} holds a {type(key).__name__.removeprefix('_')}, not an Ed25519 private key")
    return key


def load_private_key_file(path: Path) -> Ed25519PrivateKey:
    """The key in the file WHARF_LICENSE_SIGNING_KEY names; ConfigError if unreadable or not Ed25519."""
    where = f"WHARF_LICENSE_SIGNING_KEY ({path})"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror or exc}") from None
    return parse_private_key_pem(data, where)


def generate_private_key_pem() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def license_payload(
    *, license_id: str, subscription_id: str, tags: list[str], user_count: int, expires_at: datetime
) -> dict[str, Any]:
    """What a license key says, exactly as it is signed."""
    return {
        "version": LICENSE_VERSION,
        "license_id": license_id,
        "subscription_id": subscription_id,
        "tags": list(tags),
        "user_count": user_count,
        "expires_at": rfc3339(expires_at),
    }


def sign_license(key: Ed25519PrivateKey, payload: dict[str, Any]) -> str:
    encoded = _b64encode(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
    return encoded + "." + _b64encode(key.sign(encoded.encode("ascii")))


def _well_formed(payload: Any) -> bool:
    if not isinstance(payload, dict) or set(payload) != _PAYLOAD_FIELDS:
        return False
    tags, count = payload["tags"], payload["user_count"]
    return (
        payload["version"] == LICENSE_VERSION
        and isinstance(payload["license_id"], str)
        and isinstance(payload["subscription_id"], str)
        and isinstance(tags, list)
        and all(isinstance(tag, str) for tag in tags)
        and type(count) is int
        and count > 0
        and isinstance(payload["expires_at"], str)
        and _expiry(payload["expires_at"]) is not None
    )


def _expiry(raw: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def verify_license(key: Ed25519PublicKey, license_key: str, *, now: datetime) -> Verification:
    """Check a license key's shape, then its signature, then its payload, then its expiry."""
    malformed = Verification(False, "malformed", None)
    parts = license_key.split(".")
    if len(parts) != 2:
        return malformed
    payload_bytes, signature = _b64decode(parts[0]), _b64decode(parts[1])
    if payload_bytes is None or signature is None:
        return malformed
    # Only the canonical encoding of a 64-byte signature is accepted: no second text for one key.
    if len(signature) != _SIGNATURE_BYTES or _b64encode(signature) != parts[1]:
        return Verification(False, "signature", None)
    try:
        key.verify(signature, parts[0].encode("ascii"))
    except InvalidSignature:
        return Verification(False, "signature", None)
    try:
        payload = orjson.loads(payload_bytes)
    except orjson.JSONDecodeError:
        return malformed
    if not _well_formed(payload):
        return malformed
    expires_at = _expiry(payload["expires_at"])
    assert expires_at is not None
    if expires_at <= now:
        return Verification(False, "expired", payload)
    return Verification(True, None, payload)


def decode_payload(license_key: str) -> dict[str, Any] | None:
    """The payload of a key this registry issued and stored, read without checking its signature."""
    segment = license_key.split(".", 1)[0]
    raw = _b64decode(segment)
    if raw is None:
        return None
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None
