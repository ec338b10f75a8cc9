"""How long the lockfile parsers take on locks of 100,000 packages in one chain (as deep as they
are large), beside the baseline of building the same number of small dicts in Python, in the same run.

    .venv/bin/python -m bench.bench_lockfiles [--packages 100000]
"""

from __future__ import annotations

import argparse
import gc
import time

from registry.ecosystems import ecosystem_named
from testkit.locks import YARN_CHAIN_ROOT, chain_lock, yarn_chain_lock


def _timed(label: str, work: object, count: int) -> None:
    started = time.perf_counter()
    assert callable(work)
    work()
    elapsed = time.perf_counter() - started
    print(f"{label:<40} {elapsed:7.2f} s  {count / elapsed:>12,.0f} packages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=100_000)
    count = parser.parse_args().packages
    npm = ecosystem_named("npm")
    assert npm is not None
    files = {"package.json": YARN_CHAIN_ROOT.encode()}
    lock, yarn = chain_lock(count).encode(), yarn_chain_lock(count).encode()
    _timed("baseline: as many dicts built", lambda: [{"name": f"p{i}", "version": "1"} for i in range(count)], count)
    for collect in (True, False):
        gc.enable() if collect else gc.disable()
        note = "" if collect else " (gc off)"
        _timed(f"package-lock.json v3{note}", lambda: npm.parse_lock("package-lock.json", lock, files.get), count)
        _timed(f"yarn.lock v1{note}", lambda: npm.parse_lock("yarn.lock", yarn, files.get), count)
    gc.enable()


if __name__ == "__main__":
    main()
