"""Waiting for what another connection's write makes happen (a notification, a replica's replay)
without sleeping a fixed time: ask again until it holds or a deadline passes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DEADLINE = 3.0
"""Seconds. The contract is 1 s (and the topology tests hold the real deployment to it); here the
app shares a loaded test machine's event loop, so failing means "never", not "slowly"."""


async def eventually(check: Callable[[], Awaitable[bool]], what: str, *, within: float = DEADLINE) -> None:
    """Return once `check()` is true; fail naming `what` if it is not within `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.01)
