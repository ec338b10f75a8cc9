"""Password hashing: bcrypt, every variant verifies, nothing malformed ever matches."""

from __future__ import annotations

import bcrypt
import pytest

from registry.auth.passwords import PasswordHasher


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(4)


async def test_a_hash_verifies_its_password_only(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("correct horse")
    assert hashed.startswith("$2b$04$")
    assert await hasher.verify("correct horse", hashed)
    assert not await hasher.verify("correct horsE", hashed)


@pytest.mark.parametrize("stored", [None, "", "plain text", "$2b$04$short", "$1$md5$crypt", "$argon2id$v=19$x"])
async def test_missing_or_foreign_hashes_never_match(hasher: PasswordHasher, stored: str | None) -> None:
    assert not await hasher.verify("wharf decoy password", stored)


async def test_php_style_2y_hashes_verify(hasher: PasswordHasher) -> None:
    legacy = bcrypt.hashpw(b"from php", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)
    assert await hasher.verify("from php", legacy)
