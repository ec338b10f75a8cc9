"""One node and three, on one primary and its streaming standby, under reads and a steady publish load.

Starts the topology the suite's multi-node tests use (testkit/topology.py: a PostgreSQL primary, a
standby made with `pg_basebackup -R`, three `registry serve` processes with DATABASE_URL = primary and
DATABASE_READ_URL = standby), publishes a few extensions, then for each scenario drives concurrent
readers for a fixed time — extension metadata, the bundle by tag, a listing page, spread evenly over
the scenario's nodes — while one publisher releases a new version every 1/`--publish-rate` seconds
through the same nodes. Printed per scenario: reads/s, p50/p99, errors, publishes done, and the
standby's lag under that publish load: `replay_lag` from the primary's pg_stat_replication and the
WAL bytes not yet replayed, sampled every 0.25 s (and, where the nodes report it, /readyz's own
`lag_seconds`).

On two cores the load generator, three nodes and two PostgreSQL servers share the machine: the point
is that three nodes answer as correctly as one and what they cost, not a speed-up.

Run: .venv/bin/python -m bench.bench_nodes [--concurrency 24] [--seconds 5] [--publish-rate 5]
(always the embedded binaries in a temporary directory: a standby needs a cluster of its own.)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.bench_registry import drive, percentile
from bench.options import load_parser
from testkit.topology import Topology, release_body, sign_up, start_topology

BENCH_ENV = {
    "WHARF_DOWNLOAD_COUNT_WINDOW": "3600",  # production's default: one count per client and release an hour
    "WHARF_DOWNLOADS_FLUSH_SECONDS": "1",
    "WHARF_POOL_MAX_SIZE": "10",
}
EXTENSIONS = 5
FILLER = 20_000  # bytes of bundle per release: a typical extension's size


async def publish_steadily(
    session: aiohttp.ClientSession, urls: list[str], token: str, publisher: str, rate: float, seconds: float, minor: int
) -> tuple[list[float], int]:
    """A new release (2.`minor`.n) every 1/rate seconds, round-robin over the nodes; latencies (ms) and
    failures."""
    latencies: list[float] = []
    failures = 0
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < seconds:
        n += 1
        body = release_body(f"{publisher}/ext{n % EXTENSIONS}", f"2.{minor}.{n}", filler=FILLER)
        begun = time.perf_counter()
        async with session.post(
            urls[n % len(urls)] + "/api/publish", json=body, headers={"Authorization": f"token {token}"}
        ) as response:
            await response.read()
            if response.status != 201:
                failures += 1
        latencies.append((time.perf_counter() - begun) * 1000)
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
    return latencies, failures


async def sample_lag(
    topology: Topology, session: aiohttp.ClientSession, seconds: float
) -> tuple[list[float], list[int], list[float]]:
    """replay_lag (ms), WAL bytes behind, and /readyz lag_seconds (ms) where reported, every 0.25 s."""
    replay_ms: list[float] = []
    behind: list[int] = []
    reported_ms: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for row in await asyncio.to_thread(topology.replication):
            replay_ms.append((row["replay_lag"] or 0.0) * 1000)
            behind.append(row["bytes_behind"] or 0)
        async with session.get(topology.urls[0] + "/readyz") as response:
            body: dict[str, Any] = await response.json(content_type=None)
        reported_ms += [r["lag_seconds"] * 1000 for r in body.get("replicas", []) if r.get("lag_seconds") is not None]
        await asyncio.sleep(0.25)
    return replay_ms, behind, reported_ms


def reads_over(urls: list[str], publisher: str) -> Callable[[], str]:
    def url() -> str:
        node = random.choice(urls)
        extension = f"{node}/api/extensions/{publisher}/ext{random.randrange(EXTENSIONS)}"
        return random.choice(
            (extension, f"{extension}/-/bundle.js?tag=release", f"{node}/api/extensions?publisher={publisher}&limit=50")
        )

    return url


def _summary(samples: list[float]) -> str:
    return f"{statistics.median(samples):.1f}/{max(samples):.1f}" if samples else "n/a"


async def run(args: argparse.Namespace, topology: Topology) -> None:
    publisher = f"bench{random.randrange(10**6)}"
    token = sign_up(topology.urls[0], publisher)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for n in range(EXTENSIONS):
            body = release_body(f"{publisher}/ext{n}", "1.0.0", filler=FILLER)
            async with session.post(
                topology.urls[0] + "/api/publish", json=body, headers={"Authorization": f"token {token}"}
            ) as response:
                assert response.status == 201, await response.text()
        topology.wait_streaming()
        print(f"\n{args.concurrency} concurrent readers for {args.seconds:.0f} s per scenario, "
              f"publishing {args.publish_rate:g}/s ({FILLER // 1000} KB bundles) meanwhile")  # fmt: skip
        print(f"{'scenario':<28} {'reads/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'publishes':>9} "
              f"{'pub p50':>7} {'pub err':>7} {'replay lag ms p50/max':>22} {'WAL behind max':>14} "
              f"{'readyz lag ms':>14}")  # fmt: skip
        for scenario, count in enumerate(args.nodes):
            urls = topology.urls[:count]
            (rps, p50, p99, failures), (published, publish_failures), (replay, behind, reported) = await asyncio.gather(
                drive(session, reads_over(urls, publisher), args.concurrency, args.seconds, {}),
                publish_steadily(session, urls, token, publisher, args.publish_rate, args.seconds, scenario),
                sample_lag(topology, session, args.seconds),
            )
            name = f"{count} node{'s' if count > 1 else ''} (reads + publishes)"
            print(f"{name:<28} {rps:>8.1f} {p50:>7.2f} {p99:>7.2f} {failures:>6} {len(published):>9} "
                  f"{percentile(published, 0.5):>7.1f} {publish_failures:>7} {_summary(replay):>22} "
                  f"{max(behind, default=0):>14} {_summary(reported):>14}")  # fmt: skip


def main() -> None:
    parser = load_parser(__doc__, concurrency=24)
    parser.add_argument("--publish-rate", type=float, default=5.0, help="publishes per second during each scenario")
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 3], help="scenarios, by number of nodes")
    args = parser.parse_args()
    started = time.monotonic()
    with start_topology(nodes=max(args.nodes), env=BENCH_ENV) as topology:
        print(f"topology up in {time.monotonic() - started:.1f} s: primary :{topology.primary.port}, "
              f"standby :{topology.standby.port}, nodes {' '.join(topology.urls)}")  # fmt: skip
        asyncio.run(run(args, topology))


if __name__ == "__main__":
    main()
