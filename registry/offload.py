"""CPU-heavy work on what users send, off the event loop and bounded in time.

Rendering a README (markdown-it, nh3) and parsing JSONC settings (json5) can cost seconds on
crafted input, and the pure-Python parts hold the GIL, so a worker *thread* would still slow the
event loop and could never be stopped. They run in a few worker processes instead: the event loop
only waits, and a job that outlives its deadline is killed with the pool (a thread cannot be),
the pool is started afresh, and the caller gets `WorkTimeout` to fall back on something cheap; the
other jobs that were running on the killed pool did nothing wrong, and run again on the new one.
Callers bound their inputs before they get here (size, nesting), so the deadline is the backstop,
not the plan. The pool starts on first use: an app that never needs it never pays for it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")


def _started() -> None:
    """The first job of a new pool, waited for: one worker process is up before any job's deadline runs."""


class WorkTimeout(Exception):
    """A job did not finish within its deadline (or its worker died); it has been stopped."""


class _LostWorker(Exception):
    """A job's pool went away under it: killed for another job's overrun, or broken by a crash."""


def _cancelled_by_its_caller() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class WorkerPool:
    """At most `processes` jobs at once, each given `timeout` seconds of a worker process."""

    def __init__(self, processes: int, timeout: float) -> None:
        self.processes = processes
        self.timeout = timeout
        self._executor: ProcessPoolExecutor | None = None
        self._slots = asyncio.Semaphore(processes)  # queueing is not counted against a deadline
        self._starting = asyncio.Lock()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in a worker process (both must pickle); WorkTimeout past the deadline.

        Only the job that overran is stopped for good: the others in flight on the pool killed for
        it lose their workers too, and are run once more, on a new pool, with a new deadline."""
        async with self._slots:
            for attempt in (1, 2):
                executor = await self._running()
                try:
                    return await self._attempt(executor, function, args)
                except TimeoutError:
                    self._kill(executor)
                    raise WorkTimeout(f"{function.__name__} took over {self.timeout:g} s; stopped") from None
                except _LostWorker:
                    self._kill(executor)  # a crash breaks a pool without stopping its other workers
                    if attempt == 2:
                        raise WorkTimeout(f"{function.__name__} lost its worker process") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, executor: ProcessPoolExecutor, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        """One run on `executor`; _LostWorker when the pool went away under the job."""
        try:
            job = executor.submit(function, *args)
        except (BrokenProcessPool, RuntimeError) as exc:  # RuntimeError: shut down
            raise _LostWorker from exc
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job), self.timeout)
        except BrokenProcessPool as exc:  # its worker was killed (or died) while it ran
            raise _LostWorker from exc
        except asyncio.CancelledError:
            # A killed pool cancels the jobs it had not yet handed to a worker; only a cancellation
            # of our own caller (a client gone, a shutdown) is passed on.
            if job.cancelled() and not _cancelled_by_its_caller():
                raise _LostWorker from None
            raise

    async def _running(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._executor is None:
                # Started in a thread, not on the event loop: the first pool of a process starts
                # multiprocessing's resource tracker too (0.2 s on the loop, measured).
                self._executor = await asyncio.to_thread(self._start)
            return self._executor

    def _start(self) -> ProcessPoolExecutor:
        # spawn: a fork of a process running an event loop, threads and database connections
        # inherits all of them; a fresh interpreter inherits nothing. A worker is waited for here,
        # so that starting an interpreter (0.2 s) is not counted against the first job's deadline
        # (a job retried on a new pool would otherwise pay for it).
        executor = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
        executor.submit(_started).result()
        return executor

    def _kill(self, executor: ProcessPoolExecutor) -> None:
        """Stop every worker of `executor` now, once; the next job starts a new pool. Every job
        in flight on it calls this, in any order: the first stops it, the others find it stopped
        (`shutdown` leaves `_processes` None). Nothing here awaits, so no job sees it half done."""
        if self._executor is executor:
            self._executor = None
        # ProcessPoolExecutor has no public way to stop a running job (3.14 adds kill_workers()).
        processes = getattr(executor, "_processes", None)
        if processes is None:
            return
        for process in list(processes.values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            self._kill(self._executor)
