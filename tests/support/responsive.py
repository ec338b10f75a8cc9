"""Whether the server stays responsive while it handles some input: /healthz asked over and over
on the same event loop, and the slowest answer timed. A handler that blocks the event loop delays
every answer in flight (the test client shares the loop), so the slowest answer shows the stall."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web
from aiohttp.test_utils import TestClient

T = TypeVar("T")
RESPONSIVE = 0.1  # seconds: the promise of docs/RELIABILITY.md


async def slowest_healthz(client: TestClient[web.Request, web.Application], work: Awaitable[T]) -> tuple[T, float]:
    """`work`'s result and the longest wait for a /healthz answer while it ran: from one answer
    (or the start) to the next, so that a stall between two requests counts too."""
    task = asyncio.ensure_future(work)
    slowest = 0.0
    last = time.perf_counter()
    while True:
        response = await client.get("/healthz")
        assert response.status == 200
        now = time.perf_counter()
        slowest, last = max(slowest, now - last), now
        if task.done():
            return await task, slowest
        await asyncio.sleep(0.005)
