"""The index writer's levers, each measured against the writer without it, in the same run.

1. Builds a base index through the writer (`--base-repos` repositories x 10 npm dependencies,
   Zipf popularity, as bench_dependents does): the table the runs write into is already indexed.
2. For each variant, repeated `--reps` times and interleaved (so that the machine's other load
   falls on all alike): a copy of the base database (CREATE DATABASE ... TEMPLATE), then the same
   `--repos` new repositories written into it in batches of `--batch`, then the copy dropped.
   Prints rows/s (wall clock, commits included) and, where PostgreSQL runs on this host, rows per
   CPU-second of the writing backend plus this process: on a shared machine the CPU figure is the
   steadier one.

Variants: "this writer" is `indexer.writer.write_batch` as it is; "staged" is the writer before
(COPY into temporary tables, then INSERT ... SELECT, default settings); each "without ..." is this
writer with one lever taken back; the GIN, trigger and sequence variants change the copy's schema
(storage parameters, disabled triggers) to show what those cost.

Run: .venv/bin/python -m bench.bench_writer [--base-repos 50000] [--repos 20000] [--batch 5000] [--reps 2]
Uses DATABASE_URL's server if set (the copies are made and dropped there), else an embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
import orjson

from bench.bench_dependents import PACKAGES, RANGES, zipf_sampler
from indexer.scan import Scan
from indexer.writer import RepoIndex, write_batch
from registry.ecosystems.base import Dependency
from registry.store import package_index as index_store
from testkit.databases import scratch_database, with_database

Writer = Callable[[asyncpg.Connection, Sequence[RepoIndex]], Awaitable[None]]


def repositories(prefix: str, count: int, seed: int) -> list[RepoIndex]:
    rng = random.Random(seed)
    sample = zipf_sampler(PACKAGES)
    made = []
    for n in range(count):
        scan = Scan()
        chosen = {sample(rng) for _ in range(10)}
        scan.dependencies = [
            ("npm", Dependency(f"pkg-{p}", rng.choice(RANGES), "dependencies", "package.json")) for p in chosen
        ]
        made.append(RepoIndex(f"example.com/{prefix}/repo{n}", "r1", scan))
    return made


async def this_writer(conn: asyncpg.Connection, batch: Sequence[RepoIndex]) -> None:
    await write_batch(conn, batch, ["npm"])


def lever_off(*, order: bool = True, tune: bool = True, async_commit: bool = True) -> Writer:
    """This writer's steps, one of its levers taken back."""

    async def write(conn: asyncpg.Connection, batch: Sequence[RepoIndex]) -> None:
        async with conn.transaction():
            locked = await index_store.lock_repos(conn, sorted(item.uri for item in batch))
            ids = {repo.uri.lower(): repo.id for repo in locked}
            rows = [(ids[item.uri.lower()], lang, dep) for item in batch for lang, dep in item.scan.dependencies]
            if order:
                rows.sort(key=lambda row: (row[1], row[2].package))
            records = [(r, lang, _json(dep.dep_data()), _json(dep.hint_data())) for r, lang, dep in rows]
            if tune:
                await index_store.tune_for_bulk_writes(conn)
                if not async_commit:
                    await conn.execute("SET LOCAL synchronous_commit = on")
            repo_ids = sorted(ids.values())
            await index_store.delete_rows(conn, repo_ids, ["npm"])
            await index_store.copy_rows(conn, records, [])
            await index_store.record_revisions(conn, repo_ids, ["r1"] * len(repo_ids))

    return write


async def staged(conn: asyncpg.Connection, batch: Sequence[RepoIndex]) -> None:
    """The writer before: staging tables, then INSERT ... SELECT, default settings."""
    async with conn.transaction():
        locked = await index_store.lock_repos(conn, sorted(item.uri for item in batch))
        ids = {repo.uri.lower(): repo.id for repo in locked}
        records = [
            (ids[item.uri.lower()], lang, _json(dep.dep_data()), _json(dep.hint_data()))
            for item in batch
            for lang, dep in item.scan.dependencies
        ]
        repo_ids = sorted(ids.values())
        await conn.execute(
            "CREATE TEMPORARY TABLE incoming_dep (repo_id int, language text, dep_data text, hints text) ON COMMIT DROP"
        )
        await conn.copy_records_to_table("incoming_dep", records=records)
        await index_store.delete_rows(conn, repo_ids, ["npm"])
        await conn.execute(
            "INSERT INTO global_dep (language, dep_data, repo_id, hints)"
            " SELECT language, dep_data::jsonb, repo_id, hints::jsonb FROM incoming_dep"
        )
        await index_store.record_revisions(conn, repo_ids, ["r1"] * len(repo_ids))


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


@dataclass
class Variant:
    name: str
    writer: Writer = this_writer
    schema: tuple[str, ...] = ()  # statements run on the copy before the timed writes
    batch: int | None = None  # None: --batch
    connections: int = 1
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def variants() -> list[Variant]:
    return [
        Variant("this writer"),
        Variant("staged (the writer before)", staged),
        Variant("without (language, package) order", lever_off(order=False)),
        Variant("without asynchronous commit", lever_off(async_commit=False)),
        Variant("without work_mem and async commit", lever_off(tune=False)),
        Variant("GIN fastupdate off", schema=("ALTER INDEX global_dep_idxgin SET (fastupdate = off)",)),
        Variant("GIN pending list 32 MB", schema=("ALTER INDEX global_dep_idxgin SET (gin_pending_list_limit=32768)",)),
        Variant("identity sequence cache 1000", schema=("ALTER TABLE global_dep ALTER COLUMN id SET CACHE 1000",)),
        Variant(
            "invalidation triggers disabled",
            schema=(
                "ALTER TABLE global_dep DISABLE TRIGGER global_dep_invalidate_insert",
                "ALTER TABLE global_dep DISABLE TRIGGER global_dep_invalidate_delete",
            ),
        ),
        Variant("batches of 500 repositories", batch=500),
        Variant("batches of 50 repositories", batch=50),
        Variant("this writer, 2 connections at once", connections=2),
    ]  # fmt: skip


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process on this host (None when PostgreSQL runs elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_variant(
    admin: asyncpg.Connection, base_dsn: str, variant: Variant, repos: list[RepoIndex], batch: int
) -> None:
    base = base_dsn.rsplit("/", 1)[1]
    copy = f"{base}_copy"
    await admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{base}" STRATEGY FILE_COPY')
    try:
        conns = [await asyncpg.connect(with_database(base_dsn, copy)) for _ in range(variant.connections)]
        for statement in variant.schema:
            await conns[0].execute(statement)
        pids = [await conn.fetchval("SELECT pg_backend_pid()") for conn in conns]
        size = variant.batch or batch
        batches = [repos[n : n + size] for n in range(0, len(repos), size)]
        before = [cpu_seconds(pid) for pid in pids]
        process_before = time.process_time()
        started = time.perf_counter()

        async def drive(conn: asyncpg.Connection, mine: list[list[RepoIndex]]) -> None:
            for one in mine:
                await variant.writer(conn, one)

        await asyncio.gather(*(drive(conn, batches[n :: len(conns)]) for n, conn in enumerate(conns)))
        wall = time.perf_counter() - started
        rows = sum(len(item.scan.dependencies) for item in repos)
        after = [cpu_seconds(pid) for pid in pids]
        variant.wall.append(rows / wall)
        if all(value is not None for value in before + after):
            backend = sum(a - b for a, b in zip(after, before, strict=True))  # type: ignore[operator]
            variant.cpu.append(rows / (backend + time.process_time() - process_before))
        for conn in conns:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


async def run(args: argparse.Namespace, dsn: str, admin_dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    base = repositories("base", args.base_repos, 1)
    for n in range(0, len(base), 5000):
        await write_batch(conn, base[n : n + 5000], ["npm"])
    await conn.execute("VACUUM ANALYZE global_dep")
    rows = await conn.fetchval("SELECT count(*) FROM global_dep")
    await conn.close()
    print(f"base index: {rows:,} rows in {time.perf_counter() - started:.1f} s")
    new = repositories("new", args.repos, 2)
    new_rows = sum(len(item.scan.dependencies) for item in new)
    print(f"each run writes {new_rows:,} rows for {args.repos:,} new repositories, batches of {args.batch}")
    admin = await asyncpg.connect(admin_dsn)
    everything = variants()
    chosen = everything[:1] + [v for v in everything[1:] if not args.only or any(w in v.name for w in args.only)]
    try:
        for rep in range(args.reps):
            for variant in chosen:
                await run_variant(admin, dsn, variant, new, args.batch)
                cpu = f"{variant.cpu[-1]:>9,.0f} rows/CPU-s" if variant.cpu else ""
                print(f"  rep {rep + 1} {variant.name:<38} {variant.wall[-1]:>9,.0f} rows/s  {cpu}", flush=True)
    finally:
        await admin.close()
    reference = chosen[0]
    print(f"\n{'variant (median of ' + str(args.reps) + ')':<40} {'rows/s':>9} {'x':>6}  {'rows/CPU-s':>10} {'x':>6}")
    for variant in chosen:
        wall = statistics.median(variant.wall)
        line = f"{variant.name:<40} {wall:>9,.0f} {wall / statistics.median(reference.wall):>6.2f}"
        if variant.cpu and reference.cpu:
            cpu = statistics.median(variant.cpu)
            line += f"  {cpu:>10,.0f} {cpu / statistics.median(reference.cpu):>6.2f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-repos", type=int, default=50_000)
    parser.add_argument("--repos", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="run only the variants whose names contain one of these words")
    args = parser.parse_args()
    with scratch_database("wharf-bench-writer") as dsn:
        admin = os.environ.get("DATABASE_URL") or with_database(dsn, "postgres")
        asyncio.run(run(args, dsn, admin))


if __name__ == "__main__":
    main()
