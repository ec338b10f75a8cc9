"""The issue's table of hot paths, in one run, each beside its anchor measured in the same run.

1. nginx (the Debian package, installed with apt when missing) and `registry serve --workers 2`
   serve the same 1 MiB bundle; wrk (installed the same way) drives each with -t2 -c64 for
   --seconds (cut into --slices turns, nginx and Wharf alternately), interleaved --rounds times:
   bundle by version against nginx's sendfile, extension
   metadata and an unknown extension's 404 (Verdaccio's figures from the issue are the anchors
   there: Verdaccio is not installable on this machine).
2. Publishes --publishes 1 MiB bundles one after another: p50 and p99.
3. Unless --skip-index, loads a package index through the writer (bench.bench_dependents's
   build_index) and measures dependents p99, through the API and the same statement directly.

Run: .venv/bin/python -m bench.bench_hotpaths [--seconds 5] [--rounds 1] [--slices 1] [--repos 100000]
Uses DATABASE_URL's server (a scratch database, dropped afterwards), else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import asyncpg
import orjson

from bench.bench_dependents import BY_REPO, BY_ROW, build_index, load
from bench.bench_publish import sign_up
from bench.bench_registry import bundle_of, percentile, wait_ready
from bench.options import load_parser
from registry.domain.page import PageRequest
from registry.store.package_index import dependent_repos_page, dependents_by_range, dependents_page
from testkit.databases import scratch_database
from testkit.processes import free_port

WORKERS = 2
MANIFEST = {
    "title": "Bench", "description": "A benchmark extension", "activationEvents": ["*"],
    "repository": {"type": "git", "url": "https://example.com/bench"},
}  # fmt: skip
NGINX_CONF = """daemon off;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types {{ application/javascript js; }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root};
    }}
}}
"""


def ensure_installed(command: str, package: str) -> str:
    """The path of `command`, installing its Debian package first when it is missing."""
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")
    if found is None:
        print(f"{command} is missing: apt-get install {package}")
        subprocess.run(
            ["apt-get", "install", "-y", "-q", package],
            check=True,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
        found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")
    if found is None:
        raise SystemExit(f"{command} is not installed and could not be")
    return found


def wrk(url: str, seconds: float, headers: dict[str, str] | None = None) -> tuple[float, int]:
    """requests/s and the count of non-2xx/3xx answers (the 404 scenario expects all of them)."""
    args = ["wrk", "-t2", "-c64", f"-d{seconds:.0f}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise RuntimeError(f"wrk said:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return float(rate.group(1)), int(errors.group(1)) if errors else 0


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (a server's workers)."""
    pids, found = [pid], []
    while pids:
        current = pids.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pids += [int(child) for child in task.read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds spent so far by the process `pid` and its descendants."""
    ticks = 0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def interleaved(targets: list[tuple[str, int]], seconds: float, slices: int) -> list[tuple[float, float]]:
    """For each (url, server pid) of `targets`: requests/s, and the server's CPU microseconds per
    request meanwhile (the steadier figure on a shared machine: a server's cost moves less with
    its neighbours' noise than its rate does). The `seconds` are cut into `slices` taken in turn
    (A, B, A, B …): the machine's noise drifts over seconds (one 10 s run of the same code moved
    by 20 % against the next), and slices let it fall on every target alike."""
    each = max(1, round(seconds / slices))
    requests, cpu = [0.0] * len(targets), [0.0] * len(targets)
    for _ in range(slices):
        for n, (url, server) in enumerate(targets):
            before = cpu_seconds(server)
            requests[n] += wrk(url, each)[0] * each
            cpu[n] += cpu_seconds(server) - before
    return [(done / (each * slices), used / max(1.0, done) * 1e6) for done, used in zip(requests, cpu, strict=True)]


def _stop(process: subprocess.Popen[bytes], how: signal.Signals, seconds: float) -> None:
    """Ask a server to stop as it prefers to be asked; kill it if it has not within `seconds`."""
    process.send_signal(how)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def nginx_serving(root: Path, port: int) -> Iterator[int]:
    binary = ensure_installed("nginx", "nginx")
    prefix = Path(tempfile.mkdtemp(prefix="wharf-nginx-"))
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=WORKERS, prefix=prefix, port=port, root=root))
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf)])
    try:
        yield process.pid
    finally:
        _stop(process, signal.SIGQUIT, 10)
        shutil.rmtree(prefix, ignore_errors=True)


@contextmanager
def wharf_serving(dsn: str, port: int, checkout: Path | None = None) -> Iterator[int]:
    """`registry serve --workers 2` on `dsn`; from `checkout` (another worktree) when given."""
    env = dict(os.environ, DATABASE_URL=dsn, WHARF_ACCESS_LOG="false", WHARF_LOG_LEVEL="WARNING", WHARF_BCRYPT_COST="4")
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    args = [sys.executable, "-m", "registry", "serve", "--port", str(port), "--workers", str(WORKERS), "--no-migrate"]
    process = subprocess.Popen(args, env=env, cwd=checkout)
    try:
        yield process.pid
    finally:
        _stop(process, signal.SIGINT, 30)


@contextmanager
def baseline_serving(dsn: str, checkout: Path | None) -> Iterator[tuple[str, int] | None]:
    """A second Wharf from another checkout on the same database, for an A/B in one run: its base
    URL and process id."""
    if checkout is None:
        yield None
        return
    port = free_port()
    with wharf_serving(dsn, port, checkout) as pid:
        yield f"http://127.0.0.1:{port}", pid


async def publish_all(base: str, count: int) -> tuple[str, list[str], list[float]]:
    """Publish `count` releases with 1 MiB bundles one after another: the extension id, the
    versions and each publish's milliseconds."""
    async with aiohttp.ClientSession() as session:
        auth = await sign_up(session, base)
        user = auth.pop("X-Bench-User")
        versions = [f"1.0.{n}" for n in range(count)]
        timings = []
        headers = {**auth, "Content-Type": "application/json"}
        for version in versions:
            # Serialized before the clock starts: the client's encoding is not the publish's time
            # (aiohttp's `json=` runs the standard library's dumps, 3 ms for this body).
            body = orjson.dumps({"extension_id": f"{user}/bench", "manifest": MANIFEST, "bundle": bundle_of(version),
                    "source_map": '{"version":3,"sources":[],"mappings":""}', "version": version})  # fmt: skip
            started = time.perf_counter()
            async with session.post(base + "/api/publish", data=body, headers=headers) as response:
                assert response.status == 201, await response.text()
            timings.append((time.perf_counter() - started) * 1000)
    return f"{user}/bench", versions, timings


async def fetch_bundle(url: str) -> bytes:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Accept-Encoding": "identity"}) as response,
    ):
        assert response.status == 200
        return await response.read()


async def dependents_p99(dsn: str, base: str, seconds: float) -> dict[str, tuple[float, float]]:
    """p99 ms of a dependents page (limit 100, 16 clients), by repository and by row, through the
    API and directly."""
    pool = await asyncpg.create_pool(dsn, min_size=16, max_size=16)
    results = {}
    async with pool.acquire() as conn:
        popular = await conn.fetchval(
            "SELECT dep_data->>'package' FROM global_dep GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        rare = await conn.fetchval(
            "SELECT dep_data->>'package' FROM global_dep GROUP BY 1 HAVING count(*) BETWEEN 2 AND 5 LIMIT 1"
        )
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for (label, package), route in itertools.product((("popular", popular), ("rare", rare)), (BY_REPO, BY_ROW)):
            url = f"{base}{route}?language=npm&package={package}&limit=100"
            async with pool.acquire() as conn:
                matching = sum(entry.count for entry in await dependents_by_range(conn, "npm", package))

            async def via_api(url: str = url) -> None:
                async with session.get(url) as response:
                    await response.read()

            async def via_sql(package: str = package, matching: int = matching, route: str = route) -> None:
                async with pool.acquire() as conn:
                    if route == BY_REPO:
                        await dependent_repos_page(conn, "npm", package, page=PageRequest(100), per_repo=10)
                    else:
                        await dependents_page(
                            conn, "npm", package, matching=matching, page=PageRequest(100), declared_ranges=None
                        )

            for warm_up in (via_api, via_sql):  # open every connection and fill the caches first, as a server would be
                await load(warm_up, 16, 1.0)
            api = await load(via_api, 16, seconds)
            sql = await load(via_sql, 16, seconds)
            shape = "by repository" if route == BY_REPO else "by row"
            results[f"{label} ({matching:,}), {shape}"] = (api[2], sql[2])
    await pool.close()
    return results


async def run(args: argparse.Namespace, dsn: str) -> None:
    ensure_installed("wrk", "wrk")
    port, nginx_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    root = Path(tempfile.mkdtemp(prefix="wharf-bench-static-"))
    root.chmod(0o755)
    rows: list[tuple[str, str, str, str]] = []
    try:
        with wharf_serving(dsn, port) as wharf:
            await wait_ready(base + "/readyz")
            extension, versions, publish_ms = await publish_all(base, args.publishes)
            bundle_url = f"{base}/api/extensions/{extension}/-/bundle.js?version={versions[0]}"
            (root / "bundle.js").write_bytes(await fetch_bundle(bundle_url))  # the very same bytes
            with nginx_serving(root, nginx_port) as nginx_pid, baseline_serving(dsn, args.compare_with) as baseline:
                await wait_ready(f"http://127.0.0.1:{nginx_port}/bundle.js")
                if baseline is not None:
                    await wait_ready(baseline[0] + "/readyz")
                for _ in range(args.rounds):  # interleaved: each pair shares the machine's state
                    targets = [(f"http://127.0.0.1:{nginx_port}/bundle.js", nginx_pid), (bundle_url, wharf)]
                    if baseline is not None:
                        targets.append((bundle_url.replace(base, baseline[0]), baseline[1]))
                    (nginx, nginx_cpu), (bundle, bundle_cpu), *before_run = interleaved(
                        targets, args.seconds, args.slices
                    )
                    for before, before_cpu in before_run:
                        rows.append(("bundle, 1 MiB, by version, baseline",
                                     f"{before:,.0f} req/s, {before_cpu:.0f} µs CPU",
                                     f"nginx, same file: {nginx:,.0f}, {nginx_cpu:.0f} µs",
                                     f"{before / nginx:.0%} of nginx"))  # fmt: skip
                    metadata = wrk(f"{base}/api/extensions/{extension}", args.seconds)[0]
                    missing, not_found = wrk(f"{base}/api/extensions/{extension}-nope", args.seconds)
                    rows += [
                        ("bundle, 1 MiB, by version", f"{bundle:,.0f} req/s, {bundle_cpu:.0f} µs CPU",
                         f"nginx, same file: {nginx:,.0f}, {nginx_cpu:.0f} µs", f"{bundle / nginx:.0%} of nginx"),
                        ("extension metadata", f"{metadata:,.0f} req/s",
                         "Verdaccio packument (issue): 2,461", f"{metadata / 2461:.2f}x Verdaccio"),
                        ("unknown extension (404)", f"{missing:,.0f} req/s ({not_found:,} 404s)",
                         "Verdaccio 404 (issue): 2,997", f"{missing / 2997:.2f}x Verdaccio"),
                    ]  # fmt: skip
        p50, p99 = statistics.median(publish_ms), percentile(publish_ms, 0.99)
        rows.append(("publish, 1 MiB bundle, sequential", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                     "Verdaccio (issue): 88 ms", f"{p50 / 15:.2f}x the 15 ms goal"))  # fmt: skip
        if not args.skip_index:
            rows += await index_rows(dsn, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nwrk -t2 -c64 {args.seconds:.0f} s per scenario, {WORKERS} workers each; {args.rounds} round(s)")
    print(f"| {'path':<34} | {'Wharf':<34} | {'anchor, same run':<36} | {'ratio':<20} |")
    print(f"| {'-' * 34} | {'-' * 34} | {'-' * 36} | {'-' * 20} |")
    for row in rows:
        print("| " + " | ".join(f"{cell:<{width}}" for cell, width in zip(row, (34, 34, 36, 20), strict=True)) + " |")


async def index_rows(dsn: str, args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    rows_written, elapsed, writing, stats = await build_index(dsn, args.repos, 10, writers=2)
    port = free_port()
    with wharf_serving(dsn, port):
        await wait_ready(f"http://127.0.0.1:{port}/readyz")
        p99s = await dependents_p99(dsn, f"http://127.0.0.1:{port}", args.seconds)
    rows = [
        (f"dependents, {label}, p99", f"{api:.1f} ms",
         f"the statement directly: {sql:.1f} ms", f"{api / sql:.2f}x direct")
        for label, (api, sql) in p99s.items()
    ]  # fmt: skip
    written = stats.rows / stats.write_seconds
    rows.append(("index writer (2), end to end", f"{rows_written / elapsed:,.0f} rows/s",
                 f"in write_batch {rows_written / writing:,.0f}; SQL {written:,.0f}",
                 f"{rows_written / elapsed / 1e5:.2f}x 100k"))  # fmt: skip
    return rows


def main() -> None:
    parser = load_parser(__doc__, concurrency=64)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument(
        "--slices", type=int, default=1, help="the bundle's seconds cut into this many turns of nginx, Wharf, baseline"
    )
    parser.add_argument("--compare-with", type=Path, help="another checkout (e.g. /work/main) served beside, A/B")
    parser.add_argument("--skip-index", action="store_true", help="leave out the package index (dependents, writer)")
    args = parser.parse_args()
    with scratch_database("wharf-hotpaths") as dsn:
        asyncio.run(run(args, dsn))


if __name__ == "__main__":
    main()
