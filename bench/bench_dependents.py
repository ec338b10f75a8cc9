"""The package index at scale: loading 1,000,000 dependencies, then "who depends on X".

1. Builds a synthetic index through the writer (`indexer.writer.write_batch`): R repositories x D
   npm dependencies each, package popularity Zipf-distributed; one repository in 10 a monorepo of 4
   workspaces (each defining a package, each declaring half of the repository's D), so a package
   is declared several times by one repository; prints the writer's rows/s (the
   time spent in write_batch, commits included) and end to end (generating the rows included).
   With --database, measures an index built before instead (e.g. a 10M-row one, kept between runs);
   with --checkout, the API served is another source tree's (a before/after on the same index).
2. Measures GET /api/dependents/repositories (a page of 100 repositories, each with up to 10
   declarations) and GET /api/dependents (100 declarations) on a live `registry serve` under
   concurrent load, for the most popular package and a rare one, with and without `version=`;
   prints requests/s and p50/p99. Beside each, the floor: the same SQL run directly through
   asyncpg, same load, and the ratio of the p99s.

Run: .venv/bin/python -m bench.bench_dependents [--repos 100000] [--deps 10] [--seconds 5] [--workers 2]
     [--writers 2] [--database DSN] [--only 'by repo']
Uses DATABASE_URL's server if set, else an embedded PostgreSQL in a temporary directory.
Target: writer >= 100,000 rows/s; API p99 <= 10 ms and within 1.3x the direct SQL; at 10x the
rows, p99 within 1.5x of the 1M figure.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import asyncpg

from bench.bench_registry import percentile, wait_ready
from bench.options import load_parser, run_on_database
from indexer.scan import Scan
from indexer.writer import RepoIndex, WriteStats, write_batch
from registry.domain.page import PageRequest
from registry.ecosystems import ecosystem_named
from registry.ecosystems.base import Dependency, PackageDef
from registry.store.package_index import dependent_repos_page, dependents_by_range, dependents_page
from testkit.processes import free_port

RANGES = ("^1.0.0", "^1.2.0", "~1.4.0", ">=1.0.0 <2.0.0", "^2.0.0", "1.4.2", "^0.9.0", "*", "workspace:*")
PACKAGES = 50_000
BATCH = 5_000
WARM_UP_SECONDS = 1.0
BY_REPO = "/api/dependents/repositories"  # a page of repositories, each with its declarations
BY_ROW = "/api/dependents"  # a page of declarations, the route before
MONOREPO_EVERY = 10
MONOREPO_MANIFESTS = 4


def zipf_sampler(n: int, s: float = 1.1) -> Callable[[random.Random], int]:
    weights = [1 / (k**s) for k in range(1, n + 1)]
    cumulative = list(itertools.accumulate(weights))
    total = cumulative[-1]
    return lambda rng: bisect.bisect_left(cumulative, rng.random() * total)


def repo_scan(n: int, rng: random.Random, sample: Callable[[random.Random], int], deps: int) -> Scan:
    """Repository n's manifests: one package.json defining one package, but every MONOREPO_EVERY-th
    repository is a monorepo of MONOREPO_MANIFESTS workspaces, each defining its own package and
    declaring half of the repository's `deps` packages (so a popular package is declared several
    times by one repository, as `typescript` is in a real monorepo)."""
    chosen = sorted({sample(rng) for _ in range(deps)})
    paths = ["package.json"]
    if n % MONOREPO_EVERY == 0:
        paths = [f"packages/p{m}/package.json" for m in range(MONOREPO_MANIFESTS)]
    scan = Scan()
    for m, path in enumerate(paths):
        declared = chosen if len(paths) == 1 else rng.sample(chosen, max(1, len(chosen) // 2))
        scan.dependencies += [
            ("npm", Dependency(f"pkg-{p}", rng.choice(RANGES), "dependencies", path)) for p in declared
        ]
        scan.packages.append(("npm", PackageDef(f"bench-{n}-{m}", "1.0.0", path)))
    return scan


async def build_index(dsn: str, repos: int, deps: int, writers: int = 1) -> tuple[int, float, float, WriteStats]:
    """(rows, seconds end to end, seconds the writers spent in write_batch, where that time went).
    `writers` connections write at once (as the indexer's workers do), each generating its next
    batch while the server takes the others'; batch n's rows depend on n alone, whatever the count."""
    sample = zipf_sampler(PACKAGES)
    stats = WriteStats()
    rows = 0
    writing = 0.0
    starts = list(range(0, repos, BATCH))

    async def writer(mine: list[int]) -> None:
        nonlocal rows, writing
        conn = await asyncpg.connect(dsn)
        try:
            for first in mine:
                rng = random.Random(first)
                batch = []
                for n in range(first, min(first + BATCH, repos)):
                    scan = repo_scan(n, rng, sample, deps)
                    rows += len(scan.dependencies)
                    batch.append(RepoIndex(f"example.com/bench/repo{n}", "r1", scan))
                began = time.perf_counter()
                await write_batch(conn, batch, ["npm"], stats)
                writing += time.perf_counter() - began
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(writer(starts[n::writers]) for n in range(writers)))
    elapsed = time.perf_counter() - started
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE global_dep")
        await conn.execute("VACUUM ANALYZE repo")
        await conn.execute("VACUUM ANALYZE pkgs")
    finally:
        await conn.close()
    return rows, elapsed, writing / writers, stats


async def load(fetch: Callable[[], Awaitable[None]], concurrency: int, seconds: float) -> tuple[float, float, float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await fetch()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.monotonic() - started), percentile(latencies, 0.5), percentile(latencies, 0.99)


async def measure(dsn: str, base: str, args: argparse.Namespace) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=args.concurrency, max_size=args.concurrency)
    npm = ecosystem_named("npm")
    assert npm is not None
    async with pool.acquire() as conn:
        popular = await conn.fetchval(
            "SELECT dep_data->>'package' FROM global_dep GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        count = await conn.fetchval(
            "SELECT count(*) FROM global_dep WHERE dep_data @> jsonb_build_object('package', $1::text)", popular
        )
        rare = await conn.fetchval(
            "SELECT dep_data->>'package' FROM global_dep GROUP BY 1 HAVING count(*) BETWEEN 2 AND 5 LIMIT 1"
        )
    print(f"\npopular package {popular}: {count} dependents; rare package {rare}")
    print(f"{args.concurrency} concurrent clients, {args.seconds:.0f} s each")
    print(
        f"{'query (limit=100)':<36} {'API req/s':>10} {'p50':>7} {'p99':>7}   {'SQL req/s':>10} {'p50':>7} {'p99':>7}"
        "   p99 API/SQL"
    )
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for label, route, package, version in (
            ("by repo, popular", BY_REPO, popular, None),
            ("by repo, popular, version=1.4.2", BY_REPO, popular, "1.4.2"),
            ("by repo, rare", BY_REPO, rare, None), ("by repo, rare, version=1.4.2", BY_REPO, rare, "1.4.2"),
            ("by row, popular", BY_ROW, popular, None), ("by row, rare", BY_ROW, rare, None),
        ):  # fmt: skip
            if args.only and args.only not in label:
                continue
            query = f"{base}{route}?language=npm&package={package}&limit=100" + (
                f"&version={version}" if version else ""
            )

            async def via_api(url: str = query) -> None:
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200

            async with pool.acquire() as conn:
                summary = await dependents_by_range(conn, "npm", package)
            matching = sum(entry.count for entry in summary)
            kept = [
                e.declared_range
                for e in summary
                if version is None or npm.admits(e.declared_range, version) is not False
            ]
            ranges = kept if version is not None else None

            async def via_sql(
                package: str = package, matching: int = matching, ranges: list[str] | None = ranges, route: str = route
            ) -> None:
                """The statement the API runs for the page (its counts are cached)."""
                async with pool.acquire() as conn:
                    if route == BY_REPO:
                        await dependent_repos_page(
                            conn, "npm", package, page=PageRequest(100), per_repo=10, declared_ranges=ranges
                        )
                    else:
                        await dependents_page(
                            conn, "npm", package, matching=matching, page=PageRequest(100), declared_ranges=ranges
                        )

            # Warmed alike first: the server opens its pool's connections on demand and fills its
            # caches on the first requests, where the direct pool starts with its connections open.
            await load(via_api, args.concurrency, WARM_UP_SECONDS)
            api = await load(via_api, args.concurrency, args.seconds)
            await load(via_sql, args.concurrency, WARM_UP_SECONDS)
            sql = await load(via_sql, args.concurrency, args.seconds)
            print(
                f"{label:<36} {api[0]:>10.0f} {api[1]:>7.2f} {api[2]:>7.2f}"
                f"   {sql[0]:>10.0f} {sql[1]:>7.2f} {sql[2]:>7.2f}   {api[2] / sql[2]:>5.2f}"
            )
    await pool.close()


async def print_storage(dsn: str) -> None:
    """Bytes per global_dep row, heap and each index: the figure docs/SCALING.md multiplies out to
    10^9-10^10 rows."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetchval("SELECT count(*) FROM global_dep")
        heap = await conn.fetchval("SELECT pg_relation_size('global_dep') + pg_relation_size(reltoastrelid)"
                                   "  FROM pg_class WHERE oid = 'global_dep'::regclass")  # fmt: skip
        indexes = await conn.fetch(
            "SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS bytes"
            "  FROM pg_index WHERE indrelid = 'global_dep'::regclass ORDER BY 2 DESC"
        )
        total = await conn.fetchval("SELECT pg_total_relation_size('global_dep')")
    finally:
        await conn.close()
    each = ", ".join(f"{index['name']} {index['bytes'] / rows:.0f}" for index in indexes)
    print(f"global_dep storage: {total / rows:.0f} bytes/row in all ({heap / rows:.0f} heap; indexes: {each})")


async def run(args: argparse.Namespace, dsn: str) -> None:
    if not args.database:
        rows, elapsed, writing, stats = await build_index(dsn, args.repos, args.deps, args.writers)
        print(f"loaded {rows:,} global_dep rows for {args.repos:,} repositories, {args.writers} writer(s) at once")
        print(
            f"  in write_batch (commits included): {rows / writing:,.0f} rows/s ({writing:.1f} s per writer): building"
            f" the rows' text {stats.prepare_seconds:.1f} s, replacing in global_dep with its indexes"
            f" {stats.rows / stats.write_seconds:,.0f} rows/s ({stats.write_seconds:.1f} s), summed over writers"
        )
        print(f"  end to end, generating the rows in Python included: {rows / elapsed:,.0f} rows/s ({elapsed:.1f} s)")
    await print_storage(dsn)
    port = free_port()
    env = dict(os.environ, DATABASE_URL=dsn, WHARF_ACCESS_LOG="false", WHARF_LOG_LEVEL="WARNING")
    if args.checkout:  # serve another checkout's code (e.g. main's, for a before/after on one index)
        env["PYTHONPATH"] = args.checkout
    command = ["-m", "registry", "serve", "--port", str(port), "--no-migrate", "--workers", str(args.workers)]
    server = subprocess.Popen([sys.executable, *command], env=env)
    try:
        await wait_ready(f"http://127.0.0.1:{port}/readyz")
        await measure(dsn, f"http://127.0.0.1:{port}", args)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def main() -> None:
    parser = load_parser(__doc__, concurrency=16)
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument("--deps", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="server processes (registry serve --workers)")
    parser.add_argument("--writers", type=int, default=2, help="connections writing the index at once")
    parser.add_argument("--database", help="measure the index already in this database (no load)")
    parser.add_argument("--checkout", help="serve the API from this source tree instead (e.g. /work/main)")
    parser.add_argument("--only", help="measure only the scenarios whose label contains this (e.g. 'by repo')")
    run_on_database(run, parser.parse_args(), "wharf-bench")


if __name__ == "__main__":
    main()
