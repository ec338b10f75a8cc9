"""Concurrency soak: publishers, readers and indexer workers at once against a real `registry serve`.

Drives, for a bounded time, against `registry serve` on loopback:

* P publishers, each with its own extension (a few of them under one organization), publishing new
  versions in a loop, re-publishing acknowledged versions identically (expect 200) and with
  different content (expect 409), and now and then racing two publishes of one new version;
* R readers: bundles and source maps by version (sometimes with If-None-Match, expect 304) and by
  tag, extension metadata, release lists, listings with search and paging, dependents queries;
* W indexer workers (`indexer.worker.run_worker`, in-process) working a queue of small generated
  repositories (package.json / go.mod files in a temporary directory), some re-queued with new
  content while the run goes on.

Afterwards it checks that every acknowledged publish is served byte for byte (bundle and source
map), that no (extension, version) exists twice, that every status was a documented one, that the
queue drained and the index matches the files on disk, and samples the server's RSS every second.
Exit status 1 if anything was lost or any undocumented status (or transport error) appeared.

Run: .venv/bin/python -m bench.stress_concurrency [--publishers 50] [--readers 200] [--workers 5] [--seconds 30]
Uses a new database on DATABASE_URL's server if set, else an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from testkit.databases import scratch_database
from testkit.stress import StressConfig, stress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--publishers", type=int, default=50)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--workers", type=int, default=5, help="indexer workers")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repos", type=int, default=None, help="repositories to queue (default: 40 per worker)")
    parser.add_argument("--server-workers", type=int, default=1, help="registry serve --workers")
    parser.add_argument("--max-growth-mib", type=float, default=64.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config = StressConfig(
        publishers=args.publishers, readers=args.readers, workers=args.workers, seconds=args.seconds,
        repos=args.repos, seed=args.seed, max_growth_mib=args.max_growth_mib, server_workers=args.server_workers,
    )  # fmt: skip
    with scratch_database("wharf-stress", server_options=("max_connections=200",)) as dsn:
        ok = asyncio.run(stress(dsn, config)).ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
