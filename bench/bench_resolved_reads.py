"""Dependents by resolved version, the read side: the statements behind
`/api/dependents?resolved=true`, beside their naive forms, on a synthetic `resolved_dep`.

1. Fills `resolved_dep` with --rows rows over --repos repositories by SQL (generate_series; the
   writer's own speed is bench_writer's and the resolved-write bench's): one hot package with
   --hot-rows rows over --versions versions (a few versions run by most, Zipf-like, as real
   packages are), the rest spread over 20,000 packages.
2. For the hot package, the distinct versions three ways — `SELECT DISTINCT` (baseline), the
   per-version counts the service caches (`version_counts`, which also give the totals and the
   chart), and a loose index scan (a recursive CTE) — each --repeat times, cold of the service's
   cache (its TtlCache is what makes the counts cheap after the first request; this is the miss).
3. A first and a deep page (limit 50) for an exact version, a range matching a tenth of the
   versions, and all versions: the two page statements the service chooses between — the
   per-version LATERAL merge over `resolved_dep_dependents` and the ordered scan of migration 17's
   `resolved_dep_by_repo` — against the naive `version = ANY(…) ORDER BY repo_id, id LIMIT` (the
   planner's own choice) in the same run, --concurrency clients for --seconds each; p50/p99. And
   the EXPLAIN (ANALYZE, BUFFERS) of both statements for all versions.

Run: DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
       .venv/bin/python -m bench.bench_resolved_reads [--rows 2000000] [--hot-rows 200000] [--versions 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg

from bench.bench_registry import percentile
from bench.options import load_parser, run_on_database, sample_ms
from registry.domain.page import PageRequest
from registry.store import resolved as store

HOT = "hot-package"
# Bench-only statements (the registry's own live in registry/store/resolved.sql).
FILL_REPOS = "INSERT INTO repo (uri) SELECT 'bench.example/r' || g FROM generate_series(1, $1) g"
FILL_HOT = """
INSERT INTO resolved_dep (repo_id, language, package, version, depth, dev, optional, lockfile, via)
SELECT 1 + (g::bigint * 7919) % $2, 'npm', $3, '1.' || floor($4 * power(random(), 3))::int || '.0',
       1 + g % 4, g % 10 = 0, false, 'package-lock.json', ARRAY['top@1.0.0', 'mid@2.0.0']
  FROM generate_series(1, $1) g"""
FILL_REST = """
INSERT INTO resolved_dep (repo_id, language, package, version, depth, dev, optional, lockfile, via)
SELECT 1 + (g::bigint * 104729) % $2, 'npm', 'pkg-' || (g % 20000), '0.' || (g % 7) || '.0',
       1 + g % 3, false, false, 'package-lock.json', '{}'
  FROM generate_series(1, $1) g"""
PLAIN_DISTINCT = "SELECT DISTINCT version FROM resolved_dep WHERE language = 'npm' AND package = $1"
# The loose index scan: one index descent per distinct version instead of a visit per row.
LOOSE_DISTINCT = """
WITH RECURSIVE versions(version) AS (
    (SELECT version FROM resolved_dep WHERE language = 'npm' AND package = $1 ORDER BY version LIMIT 1)
  UNION ALL
    SELECT (SELECT d.version FROM resolved_dep d
             WHERE d.language = 'npm' AND d.package = $1 AND d.version > v.version ORDER BY d.version LIMIT 1)
      FROM versions v WHERE v.version IS NOT NULL
)
SELECT version FROM versions WHERE version IS NOT NULL"""
NAIVE_PAGE = """
SELECT d.repo_id, d.id, d.version, d.depth, d.via, r.uri::text
  FROM resolved_dep d JOIN repo r ON r.id = d.repo_id
 WHERE d.language = 'npm' AND d.package = $1 AND d.version = ANY($2::text[])
   AND (d.repo_id, d.id) > ($3::int, $4::bigint)
 ORDER BY d.repo_id, d.id LIMIT 51"""
EXPLAIN_PREFIX = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "


async def fill(pool: asyncpg.Pool, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    async with pool.acquire() as conn:
        await conn.execute(FILL_REPOS, args.repos)
        await conn.execute(FILL_HOT, args.hot_rows, args.repos, HOT, args.versions)
        await conn.execute(FILL_REST, args.rows - args.hot_rows, args.repos)
        await conn.execute("VACUUM ANALYZE resolved_dep")
        await conn.execute("VACUUM ANALYZE repo")
    print(
        f"filled {args.rows:,} resolved_dep rows ({args.hot_rows:,} of {HOT}) in {time.perf_counter() - started:.1f} s"
    )


def _ms(times: list[float]) -> str:
    return f"median {statistics.median(times):7.2f} ms, min {min(times):7.2f}, max {max(times):7.2f}"


async def versions_three_ways(pool: asyncpg.Pool, repeat: int) -> list[str]:
    async with pool.acquire() as conn:
        plain = await sample_ms(lambda: conn.fetch(PLAIN_DISTINCT, HOT), repeat)
        counts = await sample_ms(lambda: store.version_counts(conn, "npm", HOT), repeat)
        loose = await sample_ms(lambda: conn.fetch(LOOSE_DISTINCT, HOT), repeat)
        versions = [row["version"] for row in await conn.fetch(LOOSE_DISTINCT, HOT)]
    print(f"distinct versions of {HOT} ({len(versions)}), {repeat} runs each:")
    print(f"  SELECT DISTINCT (baseline)        {_ms(plain)}")
    print(f"  version_counts (GROUP BY, cached) {_ms(counts)}")
    print(f"  loose index scan (recursive CTE)  {_ms(loose)}")
    return versions


async def load(
    pool: asyncpg.Pool, query: Callable[[asyncpg.Connection], Awaitable[object]], args: argparse.Namespace
) -> str:
    latencies: list[float] = []
    deadline = time.perf_counter() + args.seconds

    async def client() -> None:
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await query(conn)
                latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    latencies.sort()
    rate = len(latencies) / args.seconds
    return f"{rate:7.0f} q/s  p50 {percentile(latencies, 0.5):7.2f} ms  p99 {percentile(latencies, 0.99):7.2f} ms"


async def pages(pool: asyncpg.Pool, versions: list[str], args: argparse.Namespace) -> None:
    by_use = versions  # text order; the cases below pick by position
    cases = {
        "exact version": ["1.0.0"],
        "range, a tenth": by_use[: max(1, len(by_use) // 10)],
        "all versions": by_use,
    }
    async with pool.acquire() as conn:
        deep = await conn.fetchval(
            "SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY repo_id) FROM resolved_dep WHERE package = $1", HOT
        )
    print(f"pages of {HOT}, limit 50, {args.concurrency} clients x {args.seconds:g} s each (deep: after repo {deep}):")
    for name, kept in cases.items():
        for where, after in (("first", (0, 0)), ("deep", (deep, 0))):
            cursor = store.RESOLVED_ORDER.encode(after) if after != (0, 0) else None
            page = PageRequest(50, cursor)

            async def merged(conn: asyncpg.Connection, kept: list[str] = kept, page: PageRequest = page) -> object:
                return await store.dependents_page(conn, "npm", HOT, kept, page, direct=None, dev=None)

            async def ordered(conn: asyncpg.Connection, kept: list[str] = kept, page: PageRequest = page) -> object:
                return await store.dependents_page(conn, "npm", HOT, kept, page, direct=None, dev=None, in_order=True)

            async def naive(conn: asyncpg.Connection, kept: list[str] = kept, after: tuple[int, int] = after) -> object:
                return await conn.fetch(NAIVE_PAGE, HOT, kept, *after)

            print(f"  {name:15} {where:5} ({len(kept):3} versions)  per-version merge {await load(pool, merged, args)}")
            print(f"  {'':15} {'':5} {'':15}  ordered by repo   {await load(pool, ordered, args)}")
            print(f"  {'':15} {'':5} {'':15}  naive ANY + sort  {await load(pool, naive, args)}")


async def explain(pool: asyncpg.Pool, versions: list[str]) -> None:
    """The plans of both page statements, all versions, first page (`Execution Time` is the line to read)."""
    params = {"language": "npm", "package": HOT, "versions": versions, "after_repo": 0, "after_id": 0}
    for query in (store._SQL.dependents_page, store._SQL.dependents_page_in_order):
        async with pool.acquire() as conn:
            plan = await conn.fetch(EXPLAIN_PREFIX + query.text, *query.args({**params, "direct": None, "limit": 51}))
        print(f"plan of {query.name}, all versions, first page:")
        for row in plan:
            print("   ", row[0])


async def run(args: argparse.Namespace, dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=args.concurrency, max_size=args.concurrency)
    try:
        if not await pool.fetchval("SELECT EXISTS (SELECT FROM resolved_dep)"):
            await fill(pool, args)
        versions = await versions_three_ways(pool, args.repeat)
        await pages(pool, versions, args)
        await explain(pool, versions)
    finally:
        await pool.close()


def main() -> None:
    parser = load_parser(__doc__, concurrency=16, seconds=3.0)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--hot-rows", type=int, default=200_000)
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database", help="measure this database (filled on first use, kept) instead of a scratch one")
    run_on_database(run, parser.parse_args(), "wharf-bench-resolved")


if __name__ == "__main__":
    main()
