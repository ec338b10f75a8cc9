"""Extension metadata, listings and 404s under load: this tree against a baseline tree, A/B.

Starts two `registry serve` processes (WHARF_WORKERS each, access log on and written to /dev/null,
as a production server logs) on two new databases of DATABASE_URL's server:
one running this tree, one running `--baseline` (a source tree, e.g. `git archive main | tar -x
-C /tmp/wharf-base`), each migrated by its own tree. Both get the same extension (published
through the API) and are then driven in turns, interleaved per round so that both see the same
machine: each scenario against the baseline, then against this tree, `--rounds` times. The load
generator is `wrk` when installed (`-t2 -c<concurrency>`, as the issue measured), else the aiohttp
one of bench_registry. Prints each round and the median ratio per scenario.

    .venv/bin/python -m bench.bench_metadata --baseline /tmp/wharf-base [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
from pathlib import Path

import aiohttp

from bench.bench_registry import drive, wait_ready
from bench.options import load_parser
from testkit.databases import create_database, drop_database, with_database
from testkit.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "extension metadata": "/api/extensions/bench/meta",
    "unknown extension (404)": "/api/extensions/bench/nothing-here",
    "listing page (limit 50)": "/api/extensions?limit=50",
    "sourcegraph extension": "/.api/registry/extensions/extension-id/bench/meta",
}
SOURCEGRAPH_ACCEPT = "application/vnd.sourcegraph.api+json;version=20180621"
_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")


def _server(tree: Path, database_url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        PYTHONPATH=str(tree),
        DATABASE_URL=database_url,
        WHARF_BCRYPT_COST="4",
        WHARF_LOG_LEVEL="WARNING",
        WHARF_WORKERS=str(workers),
    )
    migrate = [sys.executable, "-m", "registry", "migrate", "up"]
    subprocess.run(migrate, env=env, cwd=tree, check=True, capture_output=True)
    serve = [sys.executable, "-m", "registry", "serve", "--port", str(port)]
    return subprocess.Popen(serve, env=env, cwd=tree, stderr=subprocess.DEVNULL)


async def _seed(base: str) -> None:
    """User `bench` and its extension `bench/meta` with one release, published through the API."""
    async with aiohttp.ClientSession() as session:
        signup = {"username": "bench", "email": "bench@example.com", "password": "benchmark password"}
        async with session.post(base + "/api/users", json=signup) as response:
            assert response.status == 201, await response.text()
        basic = base64.b64encode(b"bench:benchmark password").decode()
        scopes = {"note": "bench", "scopes": ["user:all"]}
        async with session.post(base + "/api/tokens", json=scopes, headers={"Authorization": f"Basic {basic}"}) as r:
            token = (await r.json())["token"]
        manifest = {
            "title": "Bench", "description": "A benchmark extension", "activationEvents": ["*"],
            "repository": {"type": "git", "url": "https://example.com/bench"}, "categories": ["Programming languages"],
        }  # fmt: skip
        body = {
            "extension_id": "bench/meta", "manifest": manifest, "version": "1.0.0",
            "bundle": "export function activate() {}\n", "source_map": '{"version":3,"sources":[],"mappings":""}',
        }  # fmt: skip
        async with session.post(base + "/api/publish", json=body, headers={"Authorization": f"token {token}"}) as r:
            assert r.status == 201, await r.text()


def _wrk(url: str, path: str, concurrency: int, seconds: float) -> float:
    header = ["-H", f"Accept: {SOURCEGRAPH_ACCEPT}"] if path.startswith("/.api/") else []
    command = ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", *header, url + path]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = _RPS.search(out)
    assert found is not None, out
    return float(found[1])


async def _measure(base: str, path: str, concurrency: int, seconds: float) -> float:
    if shutil.which("wrk"):
        return await asyncio.to_thread(_wrk, base, path, concurrency, seconds)
    headers = {"Accept": SOURCEGRAPH_ACCEPT} if path.startswith("/.api/") else {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        rps, _, _, _ = await drive(session, lambda: base + path, concurrency, seconds, headers)
    return rps


async def run(args: argparse.Namespace) -> None:
    admin = os.environ.get("DATABASE_URL")
    if admin is None:
        raise SystemExit("set DATABASE_URL to the PostgreSQL server to measure on")
    trees = {"baseline": Path(args.baseline).resolve(), "this tree": ROOT}
    names = {label: f"bench_meta_{n}_{os.getpid()}" for n, label in enumerate(trees)}
    servers: list[subprocess.Popen[bytes]] = []
    try:
        bases = {}
        for label, tree in trees.items():
            await create_database(admin, names[label])
            port = free_port()
            servers.append(_server(tree, with_database(admin, names[label]), port, args.workers))
            bases[label] = f"http://127.0.0.1:{port}"
            await wait_ready(bases[label] + "/readyz")
            await _seed(bases[label])
        tool = "wrk -t2" if shutil.which("wrk") else "aiohttp load generator"
        print(f"{tool}, {args.concurrency} connections, {args.seconds:g} s per run, {args.workers} workers per server")
        results: dict[str, dict[str, list[float]]] = {s: {label: [] for label in trees} for s in SCENARIOS}
        for round_ in range(args.rounds):
            for scenario, path in SCENARIOS.items():
                for label in trees:
                    await _measure(bases[label], path, args.concurrency, 1)  # warm
                    rps = await _measure(bases[label], path, args.concurrency, args.seconds)
                    results[scenario][label].append(rps)
                row = results[scenario]
                print(f"round {round_ + 1} {scenario:<28} " + "  ".join(f"{k} {v[-1]:>8.0f}" for k, v in row.items()))
        print(f"\n{'scenario':<28} {'baseline req/s':>15} {'this tree req/s':>16} {'ratio (median)':>15}")
        for scenario, row in results.items():
            ratios = [new / old for old, new in zip(row["baseline"], row["this tree"], strict=True)]
            print(
                f"{scenario:<28} {statistics.median(row['baseline']):>15.0f} "
                f"{statistics.median(row['this tree']):>16.0f} {statistics.median(ratios):>14.2f}x"
            )
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        for name in names.values():
            await drop_database(admin, name)


def main() -> None:
    parser = load_parser(__doc__, concurrency=64)
    parser.add_argument("--baseline", required=True, help="the source tree to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
