"""The worker pool: a job that overruns its deadline is stopped with its pool; the other jobs in
flight on that pool are run again on a new one, however many overrun at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from registry.offload import WorkerPool, WorkTimeout


async def test_only_the_jobs_that_overran_are_stopped_and_those_in_flight_with_them_are_rerun() -> None:
    pool = WorkerPool(3, timeout=1.0)  # a retry's new workers start within it, even on a busy machine
    try:
        await pool.run(time.sleep, 0)  # the pool started: what a process does once
        overruns = [asyncio.ensure_future(pool.run(time.sleep, 5)) for _ in range(2)]  # both stop the pool
        await asyncio.sleep(0.75)
        in_flight = asyncio.ensure_future(pool.run(time.sleep, 0.4))  # its worker is killed at 1 s
        queued = [asyncio.ensure_future(pool.run(time.sleep, 0.1)) for _ in range(3)]
        outcomes = await asyncio.gather(*overruns, in_flight, *queued, return_exceptions=True)
    finally:
        pool.close()
    assert [type(outcome) for outcome in outcomes[:2]] == [WorkTimeout, WorkTimeout], outcomes
    assert outcomes[2:] == [None] * 4, outcomes


async def test_a_job_whose_caller_is_cancelled_is_not_rerun() -> None:
    pool = WorkerPool(1, timeout=5)
    try:
        await pool.run(time.sleep, 0)
        job = asyncio.ensure_future(pool.run(time.sleep, 0.2))
        await asyncio.sleep(0.05)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    finally:
        pool.close()
