"""CPU-heavy work on what users send, off the event loop and bounded in time.

Rendering a README (markdown-it, nh3) and parsing JSONC settings (json5) can cost seconds on
crafted input, and the pure-Python parts hold the GIL, so a worker *thread* would still slow the
event loop and could never be stopped. They run in a few worker processes instead: the event loop
only waits, and a job that outlives its deadline is killed with the pool (a thread cannot be),
the pool is started afresh, and the caller gets `WorkTimeout` to fall back on something cheap.
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
    """The first job of a new pool, which starts its processes."""


class WorkTimeout(Exception):
    """A job did not finish within its deadline (or its worker died); it has been stopped."""


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

        A job whose worker was killed because *another* job overran is run once more."""
        async with self._slots:
            for attempt in (1, 2):
                executor = await self._running()
                future = asyncio.get_running_loop().run_in_executor(executor, function, *args)
                try:
                    return await asyncio.wait_for(future, self.timeout)
                except TimeoutError:
                    self._kill(executor)
                    raise WorkTimeout(f"{function.__name__} took over {self.timeout:g} s; stopped") from None
                except BrokenProcessPool:
                    self._kill(executor)
                    if attempt == 2:
                        raise WorkTimeout(f"{function.__name__} lost its worker process") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _running(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._executor is None:
                # Started in a thread, not on the event loop: the first pool of a process starts
                # multiprocessing's resource tracker too (0.2 s on the loop, measured).
                self._executor = await asyncio.to_thread(self._start)
            return self._executor

    def _start(self) -> ProcessPoolExecutor:
        # spawn: a fork of a process running an event loop, threads and database connections
        # inherits all of them; a fresh interpreter inherits nothing. The processes start at the
        # first submit.
        executor = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
        executor.submit(_started)
        return executor

    def _kill(self, executor: ProcessPoolExecutor) -> None:
        """Stop every worker of `executor` now; the next job starts a new pool."""
        if self._executor is executor:
            self._executor = None
        # ProcessPoolExecutor has no public way to stop a running job (3.14 adds kill_workers()).
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            self._kill(self._executor)
