"""Whether the server stays responsive while it handles some input: /healthz asked over and over
on the same event loop, and the longest stall between two answers measured. A handler that blocks
the event loop delays every answer in flight (the test client shares the loop), so the longest
gap between answers shows the stall.

A gap is counted as the server process's own work in it: the wall time, but no more than the CPU
time the process spent (every thread: a thread holding the GIL stalls the loop as surely as the
loop's own work). Work in the process costs both; a loop that merely waited for a core (other test
workers, the worker processes parsing the very input under test, a busy host) costs wall time
only, and is no stall of the server's making. On a quiet machine the two agree.

The objects earlier tests left in this test process (a worker of pytest-xdist runs hundreds of
tests, the contract fuzz's strategies among them) are frozen before the window opens, not
collected (a collection would cost the very time some callers measure around it): a full
collection of that heap is the test process's work, not the server's (918,000 objects after the
fuzz and the authorization matrix alone, 0.54 s of CPU to collect; one CI run measured a 2.3 s
stall that did not recur when the test ran alone), and a server process has no such heap."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web
from aiohttp.test_utils import TestClient

T = TypeVar("T")
RESPONSIVE = 0.1  # seconds of the process's work between two answers: the promise of docs/RELIABILITY.md


async def slowest_healthz(client: TestClient[web.Request, web.Application], work: Awaitable[T]) -> tuple[T, float]:
    """`work`'s result and the longest stall between two /healthz answers while it ran (from one
    answer, or the start, to the next, so that a stall between two requests counts too)."""
    gc.freeze()  # what exists now is not scanned while the window is open (freezing it costs nothing)
    try:
        task = asyncio.ensure_future(work)
        slowest = 0.0
        last, last_cpu = time.perf_counter(), time.process_time()
        while True:
            response = await client.get("/healthz")
            assert response.status == 200
            now, now_cpu = time.perf_counter(), time.process_time()
            slowest = max(slowest, min(now - last, now_cpu - last_cpu))
            last, last_cpu = now, now_cpu
            if task.done():
                return await task, slowest
            await asyncio.sleep(0.005)
    finally:
        gc.unfreeze()
