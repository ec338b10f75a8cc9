"""How cheap is a clean database for a test? Compares, in one run on one server:

  baseline   migrate an empty database from scratch (what a naive harness does per test)
  template   CREATE DATABASE … TEMPLATE of the migrated template (a fresh copy per test)
  truncate   TRUNCATE every table RESTART IDENTITY CASCADE
  reset      delete the rows of the tables holding any (the per-test reset the suite uses), measured
             after a test-like insert into three tables

Run: .venv/bin/python -m bench.bench_test_databases [ROUNDS]   (DATABASE_URL or embedded)
"""

from __future__ import annotations

import asyncio
import statistics
import sys

import asyncpg

from bench.options import sample_ms
from registry.db.migrate import load_migrations, migrate_up
from registry.resources import migrations_dir
from testkit.databases import DatabaseServer, Resetter


async def main(rounds: int) -> None:
    server = await asyncio.to_thread(DatabaseServer.start)
    try:
        template = await server.template()
        created: list[str] = []

        async def migrate_from_scratch() -> None:
            name = await server.empty()
            created.append(name)
            conn = await asyncpg.connect(server.dsn(name))
            try:
                await migrate_up(conn, load_migrations(migrations_dir()))
            finally:
                await conn.close()

        async def copy_template() -> None:
            created.append(await server.copy_of(template))

        target = await server.copy_of(template)
        created.append(target)
        resetter = await Resetter.for_database(server.dsn(target))

        async def truncate_all() -> None:
            conn = await asyncpg.connect(server.dsn(target))
            try:
                await resetter.reset_everything(conn)
            finally:
                await conn.close()

        async def reset_filled() -> None:
            conn = await asyncpg.connect(server.dsn(target))
            try:
                user = await conn.fetchval("INSERT INTO users (username) VALUES ('bench') RETURNING id")
                await conn.execute("INSERT INTO names (name, user_id) VALUES ('bench', $1)", user)
                await conn.execute("INSERT INTO repo (uri) VALUES ('example.com/bench')")
                await resetter.reset(conn)
            finally:
                await conn.close()

        results = {
            "baseline: migrate from scratch": await sample_ms(migrate_from_scratch, rounds),
            "template copy": await sample_ms(copy_template, rounds),
            "truncate all tables": await sample_ms(truncate_all, rounds),
            "reset (3 inserts, then delete)": await sample_ms(reset_filled, rounds),
        }
        for name in created:
            await server.drop(name)
    finally:
        await asyncio.to_thread(server.stop)
    baseline = statistics.median(results["baseline: migrate from scratch"])
    print(f"{'strategy':<32} {'median ms':>10} {'p90 ms':>8} {'vs baseline':>12}   ({rounds} rounds)")
    for name, samples in results.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else median
        print(f"{name:<32} {median:>10.1f} {p90:>8.1f} {baseline / median:>11.1f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
