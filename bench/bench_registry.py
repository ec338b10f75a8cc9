"""Publishing and serving under load, against a real `registry serve` on loopback.

1. Publishes N releases of one extension, each with a 1 MiB bundle (and a source map), and
   prints publish latency p50/p99.
2. Drives concurrent GETs for a fixed time per scenario and prints requests/s and p50/p99:
   bundle by version, bundle by tag, extension metadata, a listing page.
3. Serves the same 1 MiB file from aiohttp's static file server in the same run: the ceiling.

Run: .venv/bin/python -m bench.bench_registry [--releases 20] [--concurrency 32] [--seconds 5]
(DATABASE_URL to use a server; else an embedded one in a temporary data directory.)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bench.options import load_parser
from testkit.processes import free_port

MIB = 1024 * 1024


def bundle_of(version: str, size: int = MIB) -> str:
    """~1 MiB of JavaScript-looking text, different per version (so nothing is deduplicated)."""
    rng = random.Random(version)
    words = [f"fn{rng.randrange(10**6)}" for _ in range(2000)]
    lines = []
    total = 0
    while total < size:
        line = f"export function {rng.choice(words)}(a, b) {{ return a * {rng.randrange(1000)} + b; }}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines)[:size]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} never became ready")


async def drive(
    session: aiohttp.ClientSession,
    url_for: Callable[[], str],
    concurrency: int,
    seconds: float,
    headers: dict[str, str],
) -> tuple[float, float, float, int]:
    """requests/s, p50 ms, p99 ms, and the count of non-2xx answers."""
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal failures
        while time.monotonic() < deadline:
            started = time.perf_counter()
            async with session.get(url_for(), headers=headers) as response:
                await response.read()
                if response.status >= 300:
                    failures += 1
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    return len(latencies) / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99), failures


async def run(args: argparse.Namespace) -> None:
    port, static_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-bench-", dir="/tmp"))
    workdir.chmod(0o755)  # as root, the embedded server's own user must reach the data directory
    env = dict(os.environ, WHARF_ACCESS_LOG="false", WHARF_BCRYPT_COST="4", WHARF_LOG_LEVEL="WARNING")
    server_args = [sys.executable, "-m", "registry", "serve", "--port", str(port), "--workers", str(args.workers)]
    if "DATABASE_URL" not in env:
        server_args += ["--data-dir", str(workdir / "data")]
    else:
        print("using DATABASE_URL; the bench publishes into it")
    (workdir / "static").mkdir()
    (workdir / "static" / "bundle.js").write_text(bundle_of("static"))
    server = subprocess.Popen(server_args, env=env)
    static = subprocess.Popen([sys.executable, "-m", "bench.static_server", str(workdir / "static"), str(static_port)])
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base + "/readyz")
        await wait_ready(f"http://127.0.0.1:{static_port}/bundle.js")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            user = f"bench{random.randrange(10**6)}"
            signup = {"username": user, "email": f"{user}@example.com", "password": "benchmark password"}
            async with session.post(base + "/api/users", json=signup) as response:
                assert response.status == 201, await response.text()
            basic = base64.b64encode(f"{user}:benchmark password".encode()).decode()
            async with session.post(
                base + "/api/tokens",
                json={"note": "bench", "scopes": ["user:all"]},
                headers={"Authorization": f"Basic {basic}"},
            ) as response:
                token = (await response.json())["token"]
            auth = {"Authorization": f"token {token}"}
            manifest = {
                "title": "Bench", "description": "A benchmark extension", "activationEvents": ["*"],
                "repository": {"type": "git", "url": "https://example.com/bench"},
            }  # fmt: skip
            versions = [f"1.0.{n}" for n in range(args.releases)]
            bundles = {v: bundle_of(v) for v in versions}
            publish_ms = []
            for version in versions:
                body = {
                    "extension_id": f"{user}/bench", "manifest": manifest, "bundle": bundles[version],
                    "source_map": '{"version":3,"sources":[],"mappings":""}', "version": version,
                }  # fmt: skip
                started = time.perf_counter()
                async with session.post(base + "/api/publish", json=body, headers=auth) as response:
                    assert response.status == 201, await response.text()
                publish_ms.append((time.perf_counter() - started) * 1000)
            extension = f"{base}/api/extensions/{user}/bench"
            scenarios: list[tuple[str, Callable[[], str], dict[str, str]]] = [
                ("static file server, 1 MiB (ceiling)", lambda: f"http://127.0.0.1:{static_port}/bundle.js", {}),
                ("bundle by version, 1 MiB", lambda: f"{extension}/-/bundle.js?version={random.choice(versions)}", {}),
                ("bundle by tag, 1 MiB", lambda: f"{extension}/-/bundle.js?tag=release", {}),
                ("bundle by version, gzip", lambda: f"{extension}/-/bundle.js?version={random.choice(versions)}",
                 {"Accept-Encoding": "gzip"}),
                ("extension metadata", lambda: extension, {}),
                ("listing page (limit 50)", lambda: f"{base}/api/extensions?limit=50", {}),
            ]  # fmt: skip
            print(f"\npublish of {args.releases} releases with 1 MiB bundles: "
                  f"p50 {statistics.median(publish_ms):.1f} ms, p99 {percentile(publish_ms, 0.99):.1f} ms")  # fmt: skip
            print(f"\n{args.concurrency} concurrent clients, {args.seconds:.0f} s each, server workers: {args.workers}")
            print(f"{'scenario':<40} {'req/s':>9} {'MiB/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            for name, url_for, headers in scenarios:
                rps, p50, p99, failures = await drive(session, url_for, args.concurrency, args.seconds, headers)
                mib = rps if "1 MiB" in name else 0.0
                print(f"{name:<40} {rps:>9.1f} {mib:>8.1f} {p50:>8.2f} {p99:>8.2f} {failures:>7}")
    finally:
        for process in (server, static):
            process.send_signal(signal.SIGINT)
        for process in (server, static):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = load_parser(__doc__, concurrency=32)
    parser.add_argument("--releases", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
