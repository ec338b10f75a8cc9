"""The index writer's levers, each measured against the writer without it, in the same run.

1. Builds a base index through the writer (`--base-repos` repositories x 10 npm dependencies,
   Zipf popularity, as bench_dependents does): the table the runs write into is already indexed.
2. For each variant, repeated `--reps` times and interleaved (so that the machine's other load
   falls on all alike): a copy of the base database (CREATE DATABASE ... TEMPLATE), then the same
   `--repos` repositories written into it in batches of `--batch`, then the copy dropped.
   Prints rows/s (wall clock, commits included) and, where PostgreSQL runs on this host, rows per
   CPU-second of the writing backend plus this process: on a shared machine the CPU figure is the
   steadier one.

Two workloads, each with its own reference ("this writer" on it):
- fresh: `--repos` repositories never indexed before; every row is new.
- re-index: the first `--repos` repositories of the base index again, at a new revision in which
  `--changed` of each one's dependencies declare another range (a version bump). "rows/s" counts
  the rows of the revisions written, as for fresh ones; the rows the writer actually deleted and
  inserted are fewer (printed beside).

"End to end" here is everything `write_batch` does: locking and registering the repositories, the
rows' JSON text, reading and comparing the rows already there, the SQL, the commit. Reading and
parsing manifests is not the writer's (the Scans are built before the clock starts).

Variants: "this writer" is `indexer.writer.write_batch` as it is; "replace all rows" is the writer
before it compared rows (every row of the repositories deleted and inserted); "staged" the writer
before that (COPY into temporary tables, then INSERT ... SELECT, default settings); each
"without ..." is a lever taken back; the schema variants change the copy's schema (storage
parameters, columns, indexes, constraints, triggers) to show what each costs, including ones the
product cannot drop (the seed's indexes and foreign key): "the seed's table alone" is the ceiling,
COPY into `global_dep` with only the seed's four indexes and foreign key.

Run: .venv/bin/python -m bench.bench_writer [--base-repos 20000] [--repos 10000] [--batch 5000] [--reps 3]
     [--changed 1] [--only WORD ...]
Uses DATABASE_URL's server if set (the copies are made and dropped there), else an embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from unittest import mock

import asyncpg
import orjson

from bench.bench_dependents import PACKAGES, RANGES, zipf_sampler
from indexer.scan import Scan
from indexer.writer import RepoIndex, WriteStats, write_batch
from registry.ecosystems.base import Dependency
from registry.store import package_index as index_store
from testkit.databases import scratch_database, with_database

Writer = Callable[[asyncpg.Connection, Sequence[RepoIndex], WriteStats], Awaitable[None]]
FRESH, REINDEX = "fresh", "re-index"


def repositories(prefix: str, count: int, seed: int, revision: str = "r1") -> list[RepoIndex]:
    rng = random.Random(seed)
    sample = zipf_sampler(PACKAGES)
    made = []
    for n in range(count):
        scan = Scan()
        chosen = {sample(rng) for _ in range(10)}
        scan.dependencies = [
            ("npm", Dependency(f"pkg-{p}", rng.choice(RANGES), "dependencies", "package.json")) for p in chosen
        ]
        made.append(RepoIndex(f"example.com/{prefix}/repo{n}", revision, scan))
    return made


def bumped(repos: list[RepoIndex], changed: int) -> list[RepoIndex]:
    """The repositories at a new revision whose first `changed` dependencies declare another range."""
    made = []
    for item in repos:
        scan = Scan()
        scan.dependencies = [
            (lang, dataclasses.replace(dep, declared_range=dep.declared_range + ".1") if n < changed else dep)
            for n, (lang, dep) in enumerate(item.scan.dependencies)
        ]
        made.append(RepoIndex(item.uri, "r2", scan))
    return made


async def this_writer(conn: asyncpg.Connection, batch: Sequence[RepoIndex], stats: WriteStats) -> None:
    await write_batch(conn, batch, ["npm"], stats)


async def gc_not_paused(conn: asyncpg.Connection, batch: Sequence[RepoIndex], stats: WriteStats) -> None:
    """This writer with Python's cyclic collector left running while it builds and compares rows."""
    with mock.patch("indexer.writer._cyclic_gc_paused", contextlib.nullcontext):
        await write_batch(conn, batch, ["npm"], stats)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def replace_all(
    *,
    order: bool = True,
    tune: bool = True,
    async_commit: bool = True,
    work_mem: str | None = None,
    supply_generated: bool = False,
    binary: bool = False,
) -> Writer:
    """The writer before it compared rows (every row of the repositories deleted, every new one
    inserted), with one of its levers taken back or one more tried."""

    async def write(conn: asyncpg.Connection, batch: Sequence[RepoIndex], stats: WriteStats) -> None:
        async with conn.transaction():
            ids = await _register_and_lock(conn, batch)
            rows = [(ids[item.uri.lower()], lang, dep) for item in batch for lang, dep in item.scan.dependencies]
            if order:
                rows.sort(key=lambda row: (row[1], row[2].package))
            if tune:
                await index_store.tune_for_bulk_writes(conn)
                if not async_commit:
                    await conn.execute("SET LOCAL synchronous_commit = on")
                if work_mem:
                    await conn.execute(f"SET LOCAL work_mem = '{work_mem}'")
            repo_ids = sorted(ids.values())
            await _delete_all_rows(conn, repo_ids)
            if supply_generated:  # migration 3's generated columns, as plain ones COPY fills
                columns = ("repo_id", "language", "dep_data", "hints", "package", "declared")
                text = "".join(
                    f"{r}\t{lang}\t{_json(dep.dep_data())}\t{_json(dep.hint_data())}\t{dep.package}\t{dep.declared_range}\n"
                    for r, lang, dep in rows
                )
                await conn.copy_to_table("global_dep", source=memoryview(text.encode()), columns=columns)
            elif binary:
                records = [(r, lang, _json(dep.dep_data()), _json(dep.hint_data())) for r, lang, dep in rows]
                await conn.copy_records_to_table(
                    "global_dep", records=records, columns=("repo_id", "language", "dep_data", "hints")
                )
            else:
                records = [(r, lang, _json(dep.dep_data()), _json(dep.hint_data())) for r, lang, dep in rows]
                await index_store.copy_dependencies(conn, records)
            await index_store.record_revisions(conn, repo_ids, [batch[0].revision] * len(repo_ids))
            stats.rows += len(rows)

    return write


async def _register_and_lock(conn: asyncpg.Connection, batch: Sequence[RepoIndex]) -> dict[str, int]:
    """The writers before this one: unknown repositories registered without their revision (the
    revision recorded by an UPDATE after the rows), then every repository locked."""
    uris = sorted({item.uri for item in batch})
    await conn.execute("INSERT INTO repo (uri) SELECT DISTINCT unnest($1::text[]) ON CONFLICT (uri) DO NOTHING", uris)
    return {repo.uri.lower(): repo.id for repo in await index_store.lock_repos(conn, uris)}


async def _delete_all_rows(conn: asyncpg.Connection, repo_ids: Sequence[int]) -> None:
    """The writers before this one: every npm row of the repositories deleted, not compared."""
    for statement in (
        "DELETE FROM global_dep WHERE repo_id = ANY($1::int[]) AND language = 'npm'",
        "DELETE FROM pkgs WHERE repo_id = ANY($1::int[]) AND language = 'npm'",
        "DELETE FROM resolved_dep WHERE repo_id = ANY($1::int[]) AND language = 'npm'",
    ):
        await conn.execute(statement, list(repo_ids))


async def staged(conn: asyncpg.Connection, batch: Sequence[RepoIndex], stats: WriteStats) -> None:
    """The writer before: staging tables, then INSERT ... SELECT, default settings."""
    async with conn.transaction():
        ids = await _register_and_lock(conn, batch)
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
        await _delete_all_rows(conn, repo_ids)
        await conn.execute(
            "INSERT INTO global_dep (language, dep_data, repo_id, hints)"
            " SELECT language, dep_data::jsonb, repo_id, hints::jsonb FROM incoming_dep"
        )
        await index_store.record_revisions(conn, repo_ids, [batch[0].revision] * len(repo_ids))
        stats.rows += len(records)


DEPENDENTS_WITHOUT_INCLUDE = (
    "DROP INDEX global_dep_dependents",
    "CREATE INDEX global_dep_dependents ON global_dep (language, package, repo_id, id)",
)
GENERATED_AS_PLAIN = (
    "ALTER TABLE global_dep ALTER COLUMN package DROP EXPRESSION",
    "ALTER TABLE global_dep ALTER COLUMN declared DROP EXPRESSION",
)
REPO_FILLFACTOR_50 = ("ALTER TABLE repo SET (fillfactor = 50)", "VACUUM FULL repo")
SEED_TABLE_ALONE = (
    "DROP INDEX global_dep_dependents",
    "ALTER TABLE global_dep DROP COLUMN package, DROP COLUMN declared, DROP COLUMN id",
    "ALTER TABLE global_dep DISABLE TRIGGER USER",
)


@dataclass
class Variant:
    name: str
    writer: Writer = this_writer
    workload: str = FRESH
    schema: tuple[str, ...] = ()  # statements run on the copy before the timed writes
    batch: int | None = None  # None: --batch
    connections: int = 1
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    changed: list[float] = field(default_factory=list)  # rows deleted + inserted per row written
    python: list[float] = field(default_factory=list)  # share of the CPU in this process


def variants() -> list[Variant]:
    return [
        Variant("this writer"),
        Variant("replace all rows (the writer before)", replace_all()),
        Variant("without the cyclic GC paused", gc_not_paused),
        Variant("staged (before that)", staged),
        Variant("without (language, package) order", replace_all(order=False)),
        Variant("without asynchronous commit", replace_all(async_commit=False)),
        Variant("without work_mem and async commit", replace_all(tune=False)),
        Variant("work_mem 256 MB", replace_all(work_mem="256MB")),
        Variant("binary COPY (copy_records_to_table)", replace_all(binary=True)),
        Variant("generated columns supplied by COPY", replace_all(supply_generated=True), schema=GENERATED_AS_PLAIN),
        Variant("dependents btree without INCLUDE", schema=DEPENDENTS_WITHOUT_INCLUDE),
        Variant("no dependents btree (migration 3's)", schema=("DROP INDEX global_dep_dependents",)),
        Variant("no global_dep_idx_package (seed's)", schema=("DROP INDEX global_dep_idx_package",)),
        Variant("no foreign key (seed's)", schema=("ALTER TABLE global_dep DROP CONSTRAINT global_dep_repo_id",)),
        Variant("no GIN index (seed's)", schema=("DROP INDEX global_dep_idxgin",)),
        Variant("GIN fastupdate off", schema=("ALTER INDEX global_dep_idxgin SET (fastupdate = off)",)),
        Variant("invalidation triggers disabled", schema=("ALTER TABLE global_dep DISABLE TRIGGER USER",)),
        Variant("the seed's table alone (ceiling)", replace_all(), schema=SEED_TABLE_ALONE),
        Variant("repo fillfactor 50 (HOT revision updates)", schema=REPO_FILLFACTOR_50),
        Variant("batches of 500 repositories", batch=500),
        Variant("batches of 20,000 repositories", batch=20_000),
        Variant("this writer, 2 connections at once", connections=2),
        Variant("this writer", workload=REINDEX),
        Variant("replace all rows (the writer before)", replace_all(), workload=REINDEX),
        Variant("without the cyclic GC paused", gc_not_paused, workload=REINDEX),
        Variant("repo fillfactor 50 (HOT revision updates)", workload=REINDEX, schema=REPO_FILLFACTOR_50),
        Variant("this writer, 2 connections at once", workload=REINDEX, connections=2),
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
        await conns[0].execute("CHECKPOINT")  # each run starts after one, as the others do
        pids = [await conn.fetchval("SELECT pg_backend_pid()") for conn in conns]
        size = variant.batch or batch
        batches = [repos[n : n + size] for n in range(0, len(repos), size)]
        stats = WriteStats()
        before = [cpu_seconds(pid) for pid in pids]
        process_before = time.process_time()
        started = time.perf_counter()

        async def drive(conn: asyncpg.Connection, mine: list[list[RepoIndex]]) -> None:
            for one in mine:
                await variant.writer(conn, one, stats)

        await asyncio.gather(*(drive(conn, batches[n :: len(conns)]) for n, conn in enumerate(conns)))
        wall = time.perf_counter() - started
        python = time.process_time() - process_before
        rows = sum(len(item.scan.dependencies) for item in repos)
        after = [cpu_seconds(pid) for pid in pids]
        variant.wall.append(rows / wall)
        variant.changed.append(stats.changed / rows if stats.changed else float("nan"))
        if all(value is not None for value in before + after):
            backend = sum(a - b for a, b in zip(after, before, strict=True))  # type: ignore[operator]
            variant.cpu.append(rows / (backend + python))
            variant.python.append(python / (backend + python))
        for conn in conns:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


STEPS = (
    "register_repos",
    "lock_repos",
    "tune_for_bulk_writes",
    "indexed_dependencies",
    "delete_dependencies_by_id",
    "copy_dependencies",
    "indexed_packages",
    "delete_packages_by_id",
    "copy_packages",
    "record_revisions",
)


async def print_steps(
    admin: asyncpg.Connection, base_dsn: str, workload: str, repos: list[RepoIndex], batch: int
) -> None:
    """Where this writer's wall-clock time goes, one connection, on a copy of the base: each store
    call's time (SQL and decoding), Python's own (building and comparing rows), and the commits."""
    seconds = dict.fromkeys(STEPS, 0.0)

    def timed(name: str) -> Callable[..., Awaitable[object]]:
        call = getattr(index_store, name)

        async def step(*args: object) -> object:
            began = time.perf_counter()
            try:
                return await call(*args)
            finally:
                seconds[name] += time.perf_counter() - began

        return step

    stats = WriteStats()

    async def write(conn: asyncpg.Connection, batch: Sequence[RepoIndex], _: WriteStats) -> None:
        with contextlib.ExitStack() as patches:
            for name in STEPS:
                patches.enter_context(mock.patch.object(index_store, name, timed(name)))
            await write_batch(conn, batch, ["npm"], stats)

    variant = Variant("steps", write, workload)
    await run_variant(admin, base_dsn, variant, repos, batch)
    rows = sum(len(item.scan.dependencies) for item in repos)
    wall = rows / variant.wall[0]
    in_steps = sum(seconds.values())
    print(f"\n{workload}, this writer, one connection: {wall:.2f} s for {rows:,} rows ({variant.wall[0]:,.0f} rows/s)")
    for name, spent in [*seconds.items(), ("Python: rows built and compared", stats.prepare_seconds),
                        ("commits and the rest", wall - in_steps - stats.prepare_seconds)]:  # fmt: skip
        print(f"  {name:<34} {spent:>6.2f} s  {spent / wall:>4.0%}  {spent * 1e6 / rows:>5.1f} µs/row")


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
    workloads = {FRESH: repositories("new", args.repos, 2), REINDEX: bumped(base[: args.repos], args.changed)}
    for name, repos in workloads.items():
        written = sum(len(item.scan.dependencies) for item in repos)
        print(f"{name}: each run writes {written:,} rows for {len(repos):,} repositories, batches of {args.batch}")
    # The workloads' Scans (a million objects) stay out of the cyclic collector's walks: an indexer
    # holds one batch at a time, not the whole run's.
    gc.freeze()
    admin = await asyncpg.connect(admin_dsn)
    everything = variants()
    references = [v for v in everything if v.name == "this writer"]
    chosen = [v for v in everything if v in references or not args.only or any(w in v.name for w in args.only)]
    chosen = [v for v in chosen if v.workload in args.workloads]
    try:
        for workload in args.workloads if args.steps else ():
            await print_steps(admin, dsn, workload, workloads[workload], args.batch)
        for rep in range(args.reps):
            for variant in chosen:
                await run_variant(admin, dsn, variant, workloads[variant.workload], args.batch)
                cpu = f"{variant.cpu[-1]:>9,.0f} rows/CPU-s" if variant.cpu else ""
                print(
                    f"  rep {rep + 1} {variant.workload:<8} {variant.name:<40} {variant.wall[-1]:>9,.0f} rows/s  {cpu}",
                    flush=True,
                )
    finally:
        await admin.close()
    for workload in args.workloads if args.reps else ():
        [reference] = [v for v in references if v.workload == workload]
        print(
            f"\n{workload + ' (median of ' + str(args.reps) + ')':<42} {'rows/s':>9} {'x':>5}  {'rows/CPU-s':>10}"
            f" {'x':>5}  {'Python':>6}  {'changed':>7}"
        )
        for variant in (v for v in chosen if v.workload == workload):
            wall = statistics.median(variant.wall)
            line = f"{variant.name:<42} {wall:>9,.0f} {wall / statistics.median(reference.wall):>5.2f}"
            if variant.cpu and reference.cpu:
                cpu = statistics.median(variant.cpu)
                line += f"  {cpu:>10,.0f} {cpu / statistics.median(reference.cpu):>5.2f}"
                line += f"  {statistics.median(variant.python):>6.0%}"
            line += f"  {statistics.median(variant.changed):>7.2f}"
            print(line)
    print("\nPython: the share of the CPU spent in this process; changed: rows deleted + inserted per row written")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-repos", type=int, default=20_000)
    parser.add_argument("--repos", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--changed", type=int, default=1, help="re-index: dependencies changed per repository")
    parser.add_argument("--workloads", nargs="*", default=[FRESH, REINDEX], choices=[FRESH, REINDEX])
    parser.add_argument("--steps", action="store_true", help="first, where this writer's time goes, step by step")
    parser.add_argument("--only", nargs="*", help="run only the variants whose names contain one of these words")
    args = parser.parse_args()
    with scratch_database("wharf-bench-writer") as dsn:
        admin = os.environ.get("DATABASE_URL") or with_database(dsn, "postgres")
        asyncio.run(run(args, dsn, admin))


if __name__ == "__main__":
    main()
