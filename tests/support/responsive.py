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
    """`work`'s result and the slowest /healthz answer while it ran (at least one is asked)."""
    task = asyncio.ensure_future(work)
    slowest = 0.0
    while True:
        started = time.perf_counter()
        response = await client.get("/healthz")
        assert response.status == 200
        slowest = max(slowest, time.perf_counter() - started)
        if task.done():
            return await task, slowest
        await asyncio.sleep(0.005)
