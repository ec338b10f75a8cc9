"""Resolved dependencies at scale (issue 16 item 6): the writer, and "who runs X at version V".

1. Generates lockfile rows — `--rows` in all (default 1,000,000), `--per-repo` per repository, package
   popularity Zipf-distributed over 50,000 packages and each package's versions Zipf-distributed over
   30, depths 1 to 8, each transitive row with 1 or 2 parents one depth up and its `via` path built from
   them — and loads them through the real writer (`indexer.writer.write_batch`), batches of
   `--batch` repositories. Interleaved with them, batch for batch (every `--compare-every`th), the
   same repositories' rows as declared dependencies (`global_dep`: same package names and batch
   shape, the version as the declared range) through the same writer: rows/s of each, same run.
2. The first page of "dependents of (language, package, version)" ordered by (repo_id, id), LIMIT
   100, joined to `repo` for the URI as the API does, run directly through asyncpg by `--concurrency`
   clients (16) for the most popular (package, version) and a rare one: p50/p99, `--reps` times.
3. The same for a range (`version = ANY(<the versions ^1.0.0 admits>)`) and for all versions of the
   package, with EXPLAIN ANALYZE's plan, and both again as one LATERAL index scan per version
   (each already in (repo_id, id) order, LIMIT 100 each, the page the smallest 100 of those).
4. The same first pages through the API (`registry serve --workers 2`,
   `/api/dependents?resolved=true`), with the response cache and without it.
5. What migration 17's (language, package, repo_id, id) index costs the writer: the same
   `--rewrite` batches re-indexed (a new revision: delete + COPY) with it, without it, with it
   again and without it again.

Run: .venv/bin/python -m bench.bench_resolved [--rows 1000000] [--per-repo 100] [--batch 500]
     [--concurrency 16] [--seconds 5] [--reps 2] [--compare-every 1] [--rewrite 4]
Uses DATABASE_URL's server if set (a new database there, dropped afterwards), else an embedded one.
Target (issue 16): first page p99 <= 10 ms at 16 clients, at 10M resolved rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from urllib.parse import quote

import aiohttp
import asyncpg

from bench.bench_dependents import load, zipf_sampler
from bench.bench_registry import wait_ready
from bench.options import load_parser
from indexer.scan import Scan
from indexer.writer import RepoIndex, WriteStats, write_batch
from registry.ecosystems import ecosystem_named
from registry.ecosystems.base import Dependency, ResolvedDependency
from testkit.databases import scratch_database
from testkit.processes import free_port

PACKAGES = 50_000
VERSIONS = 30
DEPTH_WEIGHTS = (10, 25, 25, 18, 10, 6, 4, 2)  # depths 1..8
PAGE = """
SELECT p.*, r.uri::text AS repo
  FROM (SELECT d.repo_id, d.id, d.version, d.depth, d.dev, d.lockfile, d.via
          FROM resolved_dep d
         WHERE d.language = 'npm' AND d.package = $1 AND {version}
         ORDER BY d.repo_id, d.id LIMIT 100) p
  JOIN repo r ON r.id = p.repo_id
 ORDER BY p.repo_id, p.id
"""
EXACT = PAGE.format(version="d.version = $2")
RANGE = PAGE.format(version="d.version = ANY($2::text[])")
ALL_VERSIONS = PAGE.format(version="$2::text IS NULL")
PER_VERSION = """
SELECT p.*, r.uri::text AS repo
  FROM (SELECT d.*
          FROM unnest($2::text[]) AS v(version)
         CROSS JOIN LATERAL (
               SELECT d.repo_id, d.id, d.version, d.depth, d.dev, d.lockfile, d.via
                 FROM resolved_dep d
                WHERE d.language = 'npm' AND d.package = $1 AND d.version = v.version
                ORDER BY d.repo_id, d.id LIMIT 100) d
         ORDER BY d.repo_id, d.id LIMIT 100) p
  JOIN repo r ON r.id = p.repo_id
 ORDER BY p.repo_id, p.id
"""
"""A range without an index in (package, repo_id, id) order: each version's first 100 from
`resolved_dep_dependents` (already in (repo_id, id) order), the page the smallest 100 of those."""
BY_REPO_INDEX = (  # migration 17's, dropped and built again here to price it
    "CREATE INDEX resolved_dep_by_repo ON resolved_dep (language, package, repo_id, id) INCLUDE (version, depth)"
)


def version_of(index: int) -> str:
    return f"{1 + index // 10}.{index % 10}.0"


class Generator:
    """Repositories' resolved rows, batch n depending on n alone (so both tables get the same ones)."""

    def __init__(self, per_repo: int) -> None:
        self.per_repo = per_repo
        self.package = zipf_sampler(PACKAGES)
        self.version = zipf_sampler(VERSIONS, 1.3)

    def repository(self, rng: random.Random) -> list[ResolvedDependency]:
        chosen: dict[str, str] = {}
        while len(chosen) < self.per_repo:
            chosen.setdefault(f"pkg-{self.package(rng)}", version_of(self.version(rng)))
        depths = sorted(rng.choices(range(1, 9), DEPTH_WEIGHTS, k=len(chosen)))
        rows: list[ResolvedDependency] = []
        by_depth: dict[int, list[ResolvedDependency]] = {}
        for (package, version), wanted in zip(chosen.items(), depths, strict=True):
            depth = min(wanted, max(by_depth, default=0) + 1)  # a depth with a row one up
            if depth == 1:
                row = ResolvedDependency(package, version, True, 1, (), False, False, "package-lock.json")
            else:
                ups = rng.sample(by_depth[depth - 1], min(len(by_depth[depth - 1]), rng.choice((1, 1, 2))))
                first = min(ups, key=lambda up: up.key)
                row = ResolvedDependency(
                    package, version, False, depth, tuple(sorted(up.key for up in ups)), depth > 4, False,
                    "package-lock.json", via=(*first.via, first.key),
                )  # fmt: skip
            rows.append(row)
            by_depth.setdefault(depth, []).append(row)
        return rows

    def batch(self, number: int, repos: int, revision: str) -> tuple[list[RepoIndex], list[RepoIndex]]:
        """(resolved, declared): the same repositories' rows, into `resolved_dep` and into `global_dep`."""
        rng = random.Random(number)
        resolved, declared = [], []
        for n in range(number * repos, (number + 1) * repos):
            rows = self.repository(rng)
            locked = Scan(resolved=[("npm", row) for row in rows])
            manifest = Scan(
                dependencies=[
                    ("npm", Dependency(row.package, row.version, "dependencies", "package.json")) for row in rows
                ]
            )
            resolved.append(RepoIndex(f"example.com/locked/repo{n}", revision, locked))
            declared.append(RepoIndex(f"example.com/declared/repo{n}", revision, manifest))
        return resolved, declared


async def write(conn: asyncpg.Connection, batch: list[RepoIndex], stats: WriteStats) -> float:
    began = time.perf_counter()
    await write_batch(conn, batch, ["npm"], stats)
    return time.perf_counter() - began


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>10,.0f} rows/s" if seconds else "n/a"


async def load_rows(dsn: str, args: argparse.Namespace, generator: Generator) -> int:
    batches = max(1, args.rows // (args.per_repo * args.batch))
    conn = await asyncpg.connect(dsn)
    resolved_stats, declared_stats = WriteStats(), WriteStats()
    resolved_seconds = declared_seconds = 0.0
    started = time.perf_counter()
    try:
        for number in range(batches):
            resolved, declared = generator.batch(number, args.batch, "r1")
            resolved_seconds += await write(conn, resolved, resolved_stats)
            if number % args.compare_every == 0:
                declared_seconds += await write(conn, declared, declared_stats)
            if number % max(1, batches // 10) == 0:
                print(f"  batch {number + 1}/{batches}: {resolved_stats.rows:,} resolved rows", flush=True)
        await conn.execute("VACUUM ANALYZE resolved_dep")
        await conn.execute("VACUUM ANALYZE global_dep")
        await conn.execute("VACUUM ANALYZE repo")
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    print(f"loaded {resolved_stats.rows:,} resolved rows ({args.per_repo} per repository) in {elapsed:.0f} s")
    print(
        f"  write_batch into resolved_dep: {rate(resolved_stats.rows, resolved_seconds)} (building the rows' text"
        f" {resolved_stats.prepare_seconds:.1f} s, replacing {resolved_stats.write_seconds:.1f} s)"
    )
    print(f"  write_batch into global_dep:   {rate(declared_stats.rows, declared_seconds)}"
          f" (same batches, {declared_stats.rows:,} rows; building {declared_stats.prepare_seconds:.1f} s,"
          f" replacing {declared_stats.write_seconds:.1f} s)")  # fmt: skip
    return batches


async def rewrite(dsn: str, args: argparse.Namespace, generator: Generator, revision: str) -> str:
    """Re-index the first `--rewrite` batches' repositories at a new revision: delete + COPY, the
    table at full size."""
    conn = await asyncpg.connect(dsn)
    stats, seconds = WriteStats(), 0.0
    try:
        for number in range(args.rewrite):
            resolved, _ = generator.batch(number, args.batch, revision)
            seconds += await write(conn, resolved, stats)
    finally:
        await conn.close()
    return rate(stats.rows, seconds)


async def storage(conn: asyncpg.Connection) -> str:
    rows = await conn.fetchval("SELECT count(*) FROM resolved_dep")
    total = await conn.fetchval("SELECT pg_total_relation_size('resolved_dep')")
    indexes = await conn.fetch(
        "SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS bytes"
        "  FROM pg_index WHERE indrelid = 'resolved_dep'::regclass ORDER BY 2 DESC"
    )
    each = ", ".join(f"{index['name']} {index['bytes'] / rows:.0f}" for index in indexes)
    return f"resolved_dep: {rows:,} rows, {total / rows:.0f} bytes/row in all (indexes: {each})"


async def plan(conn: asyncpg.Connection, statement: str, *params: object) -> str:
    """EXPLAIN ANALYZE's plan, one line per node, and its execution time: the custom plan (made for
    these parameters) and under `force_generic_plan`. EXPLAIN is given the parameters' values, so
    the second may still be planned for them: it is not proof of the plan a prepared statement
    (asyncpg's, the API's) caches after five executions."""
    shown = []
    for mode in ("force_custom_plan", "force_generic_plan"):
        await conn.execute(f"SET plan_cache_mode = {mode}")
        lines = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}", *params)
        shown.append(f"      [{mode}]")
        shown += [f"      {line[0]}" for line in lines if "->" in line[0] or "Execution" in line[0]
                  or line[0].lstrip().startswith(("Limit", "Sort", "Nested", "Index", "Merge", "Filter"))]  # fmt: skip
    await conn.execute("RESET plan_cache_mode")
    return "\n".join(shown)


async def measure(
    dsn: str, args: argparse.Namespace, label: str, queries: list[tuple[str, str, tuple[object, ...]]]
) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=args.concurrency, max_size=args.concurrency)
    try:
        print(f"\n{label}: {args.concurrency} clients, {args.seconds:.0f} s each, {args.reps} runs")
        print(f"  {'first page (LIMIT 100)':<52} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
        for name, statement, params in queries:

            async def page(statement: str = statement, params: tuple[object, ...] = params) -> None:
                async with pool.acquire() as conn:
                    await conn.fetch(statement, *params)

            await load(page, args.concurrency, 1.0)  # warmed alike
            for _ in range(args.reps):
                rps, p50, p99 = await load(page, args.concurrency, args.seconds)
                print(f"  {name:<52} {rps:>8.0f} {p50:>7.2f} {p99:>7.2f}", flush=True)
        async with pool.acquire() as conn:
            for name, statement, params in queries:
                print(f"    plan of {name}:\n{await plan(conn, statement, *params)}")
    finally:
        await pool.close()


async def targets(dsn: str) -> list[tuple[str, str, tuple[object, ...]]]:
    npm = ecosystem_named("npm")
    assert npm is not None
    conn = await asyncpg.connect(dsn)
    try:
        popular = await conn.fetchrow(
            "SELECT package, version, count(*) AS n FROM resolved_dep GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1"
        )
        rare = await conn.fetchrow(
            "SELECT package, version, count(*) AS n FROM resolved_dep GROUP BY 1, 2 HAVING count(*) BETWEEN 2 AND 5"
            " ORDER BY 1, 2 LIMIT 1"
        )
        versions = [
            row["version"]
            for row in await conn.fetch(
                "SELECT DISTINCT version FROM resolved_dep WHERE language = 'npm' AND package = $1", popular["package"]
            )
        ]
        admitted = sorted(v for v in versions if npm.admits("^1.0.0", v))
        in_range = await conn.fetchval(
            "SELECT count(*) FROM resolved_dep WHERE language = 'npm' AND package = $1 AND version = ANY($2::text[])",
            popular["package"],
            admitted,
        )
        package_rows = await conn.fetchval(
            "SELECT count(*) FROM resolved_dep WHERE language = 'npm' AND package = $1", popular["package"]
        )
    finally:
        await conn.close()
    name = popular["package"]
    print(f"\npopular: {name}@{popular['version']} ({popular['n']:,} rows); rare: {rare['package']}@{rare['version']}"
          f" ({rare['n']} rows); ^1.0.0 of {name}: {len(admitted)} versions, {in_range:,} rows;"
          f" all versions: {package_rows:,} rows")  # fmt: skip
    return [
        (f"popular {popular['package']}@{popular['version']}", EXACT, (popular["package"], popular["version"])),
        (f"rare {rare['package']}@{rare['version']}", EXACT, (rare["package"], rare["version"])),
        (f"range ^1.0.0 of {popular['package']}", RANGE, (popular["package"], admitted)),
        (f"all versions of {popular['package']}", ALL_VERSIONS, (popular["package"], None)),
        (f"range ^1.0.0 of {popular['package']}, per version", PER_VERSION, (popular["package"], admitted)),
        (f"all versions of {popular['package']}, per version", PER_VERSION, (popular["package"], sorted(versions))),
    ]


async def timed(dsn: str, statement: str) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        began = time.perf_counter()
        await conn.execute(statement)
        return time.perf_counter() - began
    finally:
        await conn.close()


API_QUESTIONS = ("popular", "rare", "range", "all versions")


async def measure_api(dsn: str, args: argparse.Namespace, queries: list[tuple[str, str, tuple[object, ...]]]) -> None:
    """The same first pages through `registry serve --workers 2` (`/api/dependents?resolved=true`,
    limit 100), with its response cache and without it (WHARF_RESPONSE_CACHE_BYTES=0: every request
    runs the service's statements), beside the statements above."""
    npm_questions = []
    for name, _, params in queries[:4]:
        package, version = params[0], params[1]
        wanted = "^1.0.0" if name.startswith("range") else version if isinstance(version, str) else None
        url = f"/api/dependents?language=npm&package={quote(str(package))}&resolved=true&limit=100"
        npm_questions.append((name, url + (f"&version={quote(wanted)}" if wanted else "")))
    for cache in ("67108864", "0"):
        port = free_port()
        env = dict(os.environ, DATABASE_URL=dsn, WHARF_ACCESS_LOG="false", WHARF_LOG_LEVEL="WARNING",
                   WHARF_RESPONSE_CACHE_BYTES=cache)  # fmt: skip
        command = ["-m", "registry", "serve", "--port", str(port), "--no-migrate", "--workers", "2"]
        server = subprocess.Popen([sys.executable, *command], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(f"{base}/readyz")
            label = "response cache on" if cache != "0" else "response cache off"
            print(
                f"\nthrough the API ({label}): {args.concurrency} clients, {args.seconds:.0f} s each, {args.reps} runs"
            )
            print(f"  {'first page (limit=100)':<52} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                for name, url in npm_questions:

                    async def page(url: str = base + url) -> None:
                        async with session.get(url) as response:
                            await response.read()
                            assert response.status == 200, response.status

                    await load(page, args.concurrency, 1.0)  # warmed alike
                    for _ in range(args.reps):
                        rps, p50, p99 = await load(page, args.concurrency, args.seconds)
                        print(f"  {name:<52} {rps:>8.0f} {p50:>7.2f} {p99:>7.2f}", flush=True)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)


async def run(args: argparse.Namespace, dsn: str) -> None:
    generator = Generator(args.per_repo)
    await load_rows(dsn, args, generator)
    conn = await asyncpg.connect(dsn)
    try:
        print(await storage(conn))
    finally:
        await conn.close()
    queries = await targets(dsn)
    await measure(dsn, args, "the statements, directly (migrations 16 and 17's indexes)", queries)
    await measure_api(dsn, args, queries)
    if not args.rewrite:
        return
    # What migration 17's (language, package, repo_id, id) index costs the writer: the same batches
    # re-indexed (a new revision: delete + COPY) with it, without it, and with it again.
    print(f"\nre-indexing {args.rewrite} batches ({args.rewrite * args.batch * args.per_repo:,} rows),"
          f" with resolved_dep_by_repo: {await rewrite(dsn, args, generator, 'r2')}")  # fmt: skip
    await timed(dsn, "DROP INDEX resolved_dep_by_repo")
    print(f"without it: {await rewrite(dsn, args, generator, 'r3')}")
    seconds = await timed(dsn, BY_REPO_INDEX)
    await timed(dsn, "ANALYZE resolved_dep")
    print(f"built again in {seconds:.1f} s; with it once more: {await rewrite(dsn, args, generator, 'r4')}")
    await timed(dsn, "DROP INDEX resolved_dep_by_repo")
    print(f"and without it once more: {await rewrite(dsn, args, generator, 'r5')}")


def main() -> None:
    parser = load_parser(__doc__, concurrency=16)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--per-repo", type=int, default=100, help="resolved rows per repository")
    parser.add_argument("--batch", type=int, default=500, help="repositories per write_batch")
    parser.add_argument("--reps", type=int, default=2, help="runs of each query measurement")
    parser.add_argument("--compare-every", type=int, default=1, help="write every Nth batch to global_dep too")
    parser.add_argument("--rewrite", type=int, default=4, help="batches re-indexed to price the extra index")
    args = parser.parse_args()
    with scratch_database("wharf-bench-resolved") as dsn:
        asyncio.run(run(args, dsn))


if __name__ == "__main__":
    main()
