"""The command line every HTTP load benchmark shares: its docstring as the help, and the load it
drives (how many concurrent clients, for how many seconds a scenario)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from testkit.databases import scratch_database


def load_parser(doc: str | None, *, concurrency: int, seconds: float = 5.0) -> argparse.ArgumentParser:
    """A parser with --concurrency and --seconds; the benchmark adds its own options."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=concurrency)
    parser.add_argument("--seconds", type=float, default=seconds)
    return parser


def run_on_database(
    run: Callable[[argparse.Namespace, str], Coroutine[Any, Any, None]], args: argparse.Namespace, scratch: str
) -> None:
    """`run(args, dsn)` on `--database` when given (kept: measured again without loading), else on a
    scratch database named after `scratch`, dropped afterwards."""
    if getattr(args, "database", None):
        asyncio.run(run(args, args.database))
        return
    with scratch_database(scratch) as dsn:
        asyncio.run(run(args, dsn))


async def sample_ms(action: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    """`action` awaited `rounds` times one after another: each one's milliseconds."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples
