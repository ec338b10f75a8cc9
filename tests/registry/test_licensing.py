"""License keys, offline: signing, verification, tampering, expiry, and key loading."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry import licensing
from registry.config import ConfigError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _payload(expires_at: datetime = NOW + timedelta(days=30)) -> dict[str, object]:
    return licensing.license_payload(
        license_id="7d3f5c0e-0000-4000-8000-000000000001",
        subscription_id="7d3f5c0e-0000-4000-8000-000000000002",
        tags=["enterprise", "sso"],
        user_count=25,
        expires_at=expires_at,
    )


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_a_signed_key_verifies_with_its_public_key_and_carries_the_payload() -> None:
    key = Ed25519PrivateKey.generate()
    license_key = licensing.sign_license(key, _payload())
    verdict = licensing.verify_license(key.public_key(), license_key, now=NOW)
    assert verdict == licensing.Verification(True, None, _payload())
    assert verdict.license is not None
    assert verdict.license["expires_at"] == "2026-01-31T00:00:00Z"


def test_the_payload_is_deterministic_sorted_json() -> None:
    key = Ed25519PrivateKey.generate()
    first = licensing.sign_license(key, _payload())
    second = licensing.sign_license(key, dict(reversed(list(_payload().items()))))
    assert first == second, "Ed25519 is deterministic and the JSON keys are sorted"
    raw = base64.urlsafe_b64decode(first.split(".")[0] + "==")
    assert raw == orjson.dumps(_payload(), option=orjson.OPT_SORT_KEYS)


def test_a_round_trip_through_pem_keeps_the_key() -> None:
    pem = licensing.generate_private_key_pem()
    key = licensing.parse_private_key_pem(pem, "test")
    public = serialization.load_pem_public_key(licensing.public_key_pem(key).encode())
    assert isinstance(public, type(key.public_key()))
    license_key = licensing.sign_license(key, _payload())
    assert licensing.verify_license(public, license_key, now=NOW).valid  # type: ignore[arg-type]


def test_a_changed_payload_fails_the_signature() -> None:
    key = Ed25519PrivateKey.generate()
    license_key = licensing.sign_license(key, _payload())
    encoded, signature = license_key.split(".")
    bigger = {**_payload(), "user_count": 10_000}
    forged = _b64(orjson.dumps(bigger, option=orjson.OPT_SORT_KEYS)) + "." + signature
    assert licensing.verify_license(key.public_key(), forged, now=NOW) == licensing.Verification(
        False, "signature", None
    )
    for index in (0, len(encoded) // 2, len(encoded) - 1):
        tampered = _flip(encoded, index) + "." + signature
        assert licensing.verify_license(key.public_key(), tampered, now=NOW).reason == "signature"


def test_a_changed_signature_fails() -> None:
    key = Ed25519PrivateKey.generate()
    encoded, signature = licensing.sign_license(key, _payload()).split(".")
    for index in (0, len(signature) // 2, len(signature) - 1):
        verdict = licensing.verify_license(key.public_key(), encoded + "." + _flip(signature, index), now=NOW)
        assert verdict == licensing.Verification(False, "signature", None)
    assert licensing.verify_license(key.public_key(), encoded + "." + signature[:-4], now=NOW).reason == "signature"


def test_a_key_signed_by_another_key_fails() -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    license_key = licensing.sign_license(theirs, _payload())
    assert licensing.verify_license(ours.public_key(), license_key, now=NOW).reason == "signature"


def test_an_expired_key_fails_but_shows_its_authentic_payload() -> None:
    key = Ed25519PrivateKey.generate()
    license_key = licensing.sign_license(key, _payload(expires_at=NOW - timedelta(seconds=1)))
    verdict = licensing.verify_license(key.public_key(), license_key, now=NOW)
    assert (verdict.valid, verdict.reason) == (False, "expired")
    assert verdict.license == _payload(expires_at=NOW - timedelta(seconds=1))
    at_the_moment = licensing.sign_license(key, _payload(expires_at=NOW))
    assert licensing.verify_license(key.public_key(), at_the_moment, now=NOW).reason == "expired"


@pytest.mark.parametrize(
    "text",
    ["", "abc", "a.b.c", ".", "abc.", ".abc", "ab+c.def", "a=.bcd", "eyJ9 .abc", "é.abc", "A.AAAA"],
)
def test_malformed_keys_are_malformed(text: str) -> None:
    key = Ed25519PrivateKey.generate()
    assert licensing.verify_license(key.public_key(), text, now=NOW) == licensing.Verification(False, "malformed", None)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"version": 1},
        {**_payload(), "version": 2},
        {**_payload(), "user_count": 0},
        {**_payload(), "user_count": True},
        {**_payload(), "tags": "x"},
        {**_payload(), "expires_at": "tomorrow"},
        {**_payload(), "expires_at": "2030-01-01T00:00:00"},
        {**_payload(), "extra": 1},
    ],
)
def test_a_well_signed_but_malformed_payload_is_malformed(payload: object) -> None:
    key = Ed25519PrivateKey.generate()
    license_key = licensing.sign_license(key, payload)  # type: ignore[arg-type]
    assert licensing.verify_license(key.public_key(), license_key, now=NOW).reason == "malformed"


def test_the_key_file_must_be_a_readable_ed25519_pem(tmp_path: Path) -> None:
    good = tmp_path / "good.pem"
    good.write_bytes(licensing.generate_private_key_pem())
    assert isinstance(licensing.load_private_key_file(good), Ed25519PrivateKey)

    with pytest.raises(ConfigError, match=r"WHARF_LICENSE_SIGNING_KEY .* cannot be read"):
        licensing.load_private_key_file(tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        licensing.load_private_key_file(garbage)
    other = tmp_path / "ec.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ConfigError, match="not an Ed25519 private key"):
        licensing.load_private_key_file(other)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        licensing.load_private_key_file(encrypted)
