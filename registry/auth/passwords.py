"""Password hashing with bcrypt, off the event loop.

bcrypt costs ~240 ms at cost 12 on this kind of machine: it runs in a worker thread so one
sign-in never stalls every other request. Hashes from other systems (`$2a$`, `$2y$`) verify too.
A sign-in for an unknown user still pays one bcrypt check, so response time does not reveal
which usernames exist.
"""

from __future__ import annotations

import asyncio

import bcrypt

MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; longer passwords are refused, not truncated


class PasswordHasher:
    def __init__(self, cost: int) -> None:
        self._cost = cost
        self._decoy = bcrypt.hashpw(b"wharf decoy password", bcrypt.gensalt(cost))

    async def hash(self, password: str) -> str:
        salt = bcrypt.gensalt(self._cost)
        hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode(), salt)
        return hashed.decode()

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Constant work whether or not there is a hash; malformed stored hashes never match."""
        candidate = password.encode()[:MAX_PASSWORD_BYTES]
        target = hashed.encode() if hashed and hashed.startswith(("$2a$", "$2b$", "$2y$")) else None
        try:
            matched = await asyncio.to_thread(bcrypt.checkpw, candidate, target or self._decoy)
        except ValueError:
            return False
        return matched and target is not None
