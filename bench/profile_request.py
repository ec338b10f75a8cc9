"""Where a request's time goes inside the server: one `registry` app in this process (one worker,
access log on, written to /dev/null), `wrk` (or the aiohttp load generator) driving one path for a
few seconds from another process, cProfile over the server's event loop meanwhile. Prints the
functions that cost the most time of their own, and the cumulative time of the steps of the
request path (each middleware, the handler, the access log line, JSON, the response's writing),
per request.

    .venv/bin/python -m bench.profile_request [--path /api/extensions/bench/meta] [--seconds 5]

Run it with PYTHONPATH naming another source tree to profile that tree (the seed published
through the API is the same: user `bench`, extension `bench/meta`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import shutil
import sys

import aiohttp
from aiohttp import web

from bench.bench_metadata import SOURCEGRAPH_ACCEPT, _seed
from bench.bench_registry import drive
from bench.options import load_parser
from registry.app import create_app
from registry.config import Config
from testkit.databases import create_migrated_database, drop_database
from testkit.processes import free_port

# Steps of the request path, by (file suffix, function name): their cumulative time per request.
STEPS = [
    ("observability.py", "middleware"),
    ("client_address_middleware", "resolve_client_address"),
    ("middlewares.py", "read_your_writes"),
    ("middlewares.py", "body_deadline"),
    ("problems.py", "problem_middleware"),
    ("pages/__init__.py", "html_not_found_middleware"),
    ("middlewares.py", "refuse_oversized_bodies"),
    ("authentication.py", "resolve_actor"),
    ("handlers/extensions.py", "get_extension"),
    ("handlers/extensions.py", "list_extensions"),
    ("problems.py", "problem_response"),
    ("http.py", "json_response"),
    ("__init__.py", "info"),  # logging: the access log line
    ("web_protocol.py", "finish_response"),
    ("web_response.py", "prepare"),
    ("database.py", "read"),
]


async def run(args: argparse.Namespace) -> None:
    admin = os.environ.get("DATABASE_URL")
    if admin is None:
        raise SystemExit("set DATABASE_URL to the PostgreSQL server to profile on")
    name, dsn = await create_migrated_database(admin, "bench_profile")
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the access log's destination, for the run)
    logging.getLogger("wharf").setLevel(logging.WARNING)
    config = Config(database_url=dsn, bcrypt_cost=4)
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        await _seed(base)
        headers = {"Accept": SOURCEGRAPH_ACCEPT} if args.path.startswith("/.api/") else {}
        profiler = cProfile.Profile()
        if shutil.which("wrk"):
            header = ["-H", f"Accept: {SOURCEGRAPH_ACCEPT}"] if headers else []
            command = ["wrk", "-t1", "-c16", f"-d{int(args.seconds)}s", *header, base + args.path]
            process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
            profiler.enable()
            out, _ = await process.communicate()
            profiler.disable()
            requests = int(out.decode().split(" requests in")[0].split()[-1])
        else:
            async with aiohttp.ClientSession() as session:
                profiler.enable()
                rps, *_ = await drive(session, lambda: base + args.path, 16, args.seconds, headers)
                profiler.disable()
            requests = int(rps * args.seconds)
        _report(profiler, requests, args.top)
    finally:
        await runner.cleanup()
        await drop_database(admin, name)


def _report(profiler: cProfile.Profile, requests: int, top: int) -> None:
    stats = pstats.Stats(profiler)
    total = sum(tt for (_, _, tt, _, _) in stats.stats.values())  # type: ignore[attr-defined]
    out = sys.__stdout__
    assert out is not None
    print(f"{requests} requests, {total / requests * 1e6:.0f} µs of profiled CPU per request", file=out)
    print(f"\n{'step (cumulative)':<60} {'µs/request':>10}", file=out)
    for suffix, function in STEPS:
        cumulative = sum(
            ct
            for (file, _, fn), (_, _, _, ct, _) in stats.stats.items()  # type: ignore[attr-defined]
            if fn == function and (file.endswith(suffix) or suffix in fn)
        )
        if cumulative:
            print(f"{suffix + ':' + function:<60} {cumulative / requests * 1e6:>10.1f}", file=out)
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(top)
    print(buffer.getvalue(), file=out)


def main() -> None:
    parser = load_parser(__doc__, concurrency=16)
    parser.add_argument("--path", default="/api/extensions/bench/meta")
    parser.add_argument("--top", type=int, default=30)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
