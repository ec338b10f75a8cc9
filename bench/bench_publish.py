"""A 1 MiB publish, stage by stage, and before/after end to end.

`stages`: the app in this process (one worker, a scratch database), each stage of the publish path
timed by wrapping the function that does it (nothing in the server knows it is measured), for
sequential publishes of a 1 MiB bundle and a source map, as multipart (what the CLI sends) and as
JSON (what the API allows), and as bench_hotpaths publishes (JSON, an empty map). Prints the
median ms of each stage per form; a stage inside another is indented under it.

`storage`: the INSERT and COMMIT of a 1 MiB bundle into a text column stored each way PostgreSQL
offers (pglz, the default; out of line uncompressed; lz4 where the server has it), interleaved.

`ab`: two `registry serve --workers N` servers, each on a database of its own on the same server,
one running the code of `--baseline` (a checkout, e.g. `git worktree add --detach /tmp/wharf-base
main`), the other this checkout; sequential 1 MiB publishes sent to them alternately (A, B, A, B …,
so that the machine's noise falls on both alike); p50/p99 of each, per form.

    .venv/bin/python -m bench.bench_publish stages [--publishes 30]
    .venv/bin/python -m bench.bench_publish storage [--inserts 50]
    .venv/bin/python -m bench.bench_publish ab --baseline DIR [--candidate DIR] [--publishes 100] [--workers 2]

(DATABASE_URL to use a server; else an embedded one in a temporary directory.)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import importlib
import importlib.util
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from bench.bench_registry import bundle_of, percentile, wait_ready
from testkit.databases import create_database, drop_database, scratch_database, with_database
from testkit.processes import free_port

MIB = 1024 * 1024
MANIFEST = {
    "title": "Bench", "description": "A benchmark extension", "activationEvents": ["*"],
    "repository": {"type": "git", "url": "https://example.com/bench"},
}  # fmt: skip


def source_map_of(version: str, size: int = 64 * 1024) -> bytes:
    """A source map of about `size` bytes (its mappings are what makes a real one large)."""
    rng = random.Random("map" + version)
    mappings = ";".join("AAAA," + ",".join("CAAC" for _ in range(rng.randrange(5, 15))) for _ in range(size // 60))
    return orjson.dumps({"version": 3, "sources": ["src/index.ts"], "names": [], "mappings": mappings[:size]})


def multipart_publish(extension_id: str, version: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers the CLI sends (registry.client.publish.multipart_body's layout)."""
    boundary = f"wharf-{uuid.uuid4().hex}"
    parts = [
        ("extension_id", extension_id.encode(), None, "text/plain; charset=utf-8"),
        ("manifest", orjson.dumps(MANIFEST), "package.json", "application/json"),
        ("bundle", bundle_of(version).encode(), "extension.js", "application/javascript"),
        ("source_map", source_map_of(version), "extension.js.map", "application/json"),
        ("version", version.encode(), None, "text/plain; charset=utf-8"),
        ("tag", b"release", None, "text/plain; charset=utf-8"),
        ("force", b"false", None, "text/plain; charset=utf-8"),
    ]
    chunks: list[bytes] = []
    for name, value, filename, content_type in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks += [
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n".encode(),
            value,
            b"\r\n",
        ]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def json_publish(extension_id: str, version: str) -> tuple[bytes, dict[str, str]]:
    body = {
        "extension_id": extension_id, "manifest": MANIFEST, "bundle": bundle_of(version),
        "source_map": source_map_of(version).decode(), "version": version,
    }  # fmt: skip
    return orjson.dumps(body), {"Content-Type": "application/json"}


def json_tiny_map_publish(extension_id: str, version: str) -> tuple[bytes, dict[str, str]]:
    """What bench_hotpaths publishes (its publish row): JSON, a 1 MiB bundle and an empty map."""
    body = {
        "extension_id": extension_id, "manifest": MANIFEST, "bundle": bundle_of(version),
        "source_map": '{"version":3,"sources":[],"mappings":""}', "version": version,
    }  # fmt: skip
    return orjson.dumps(body), {"Content-Type": "application/json"}


FORMS: dict[str, Callable[[str, str], tuple[bytes, dict[str, str]]]] = {
    "multipart": multipart_publish,
    "json": json_publish,
    "json-tiny-map": json_tiny_map_publish,
}


async def sign_up(session: aiohttp.ClientSession, base: str) -> dict[str, str]:
    """A new user and a `user:all` token: the Authorization header to publish with."""
    user = f"bench{random.randrange(10**9)}"
    signup = {"username": user, "email": f"{user}@example.com", "password": "benchmark password"}
    async with session.post(base + "/api/users", json=signup) as response:
        assert response.status == 201, await response.text()
    basic = base64.b64encode(f"{user}:benchmark password".encode()).decode()
    token_request = {"note": "bench", "scopes": ["user:all"]}
    headers = {"Authorization": f"Basic {basic}"}
    async with session.post(base + "/api/tokens", json=token_request, headers=headers) as response:
        return {"Authorization": f"token {(await response.json())['token']}", "X-Bench-User": user}


async def publish_once(session: aiohttp.ClientSession, base: str, auth: dict[str, str], body: bytes,
                       headers: dict[str, str]) -> float:  # fmt: skip
    """Milliseconds from sending the request to having read the answer (a 201)."""
    sent = {"Authorization": auth["Authorization"], **headers}
    started = time.perf_counter()
    async with session.post(base + "/api/publish", data=body, headers=sent) as response:
        text = await response.text()
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status == 201, text
    return elapsed


# --- stages ----------------------------------------------------------------------------------------


class Stages:
    """Milliseconds per stage of the current publish, and the publishes' per-stage lists."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.runs: dict[str, list[dict[str, float]]] = defaultdict(list)
        self.order: list[str] = []

    def add(self, stage: str, ms: float) -> None:
        if stage not in self.order:
            self.order.append(stage)
        self.current[stage] += ms

    def finish(self, form: str, total: float) -> None:
        self.add("client: request to answer", total)
        self.runs[form].append(dict(self.current))
        self.current = defaultdict(float)


def _wrap(stages: Stages, owner: Any, attribute: str, stage: str | Callable[..., str]) -> None:
    """Replace `owner.attribute` by a version that adds its duration to `stage` (a name, or a
    function of the call's arguments giving one). Nothing, where the code has no such function
    (another version of the code)."""
    original = getattr(owner, attribute, None)
    if original is None:
        return

    def name(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return stage if isinstance(stage, str) else stage(*args, **kwargs)

    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                stages.add(name(args, kwargs), (time.perf_counter() - started) * 1000)

        setattr(owner, attribute, timed_async)
    else:

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                stages.add(name(args, kwargs), (time.perf_counter() - started) * 1000)

        setattr(owner, attribute, timed)


def _instrument(stages: Stages) -> None:
    """Time every stage of the publish path; stages nested in another are named with a leading '  '."""
    import asyncpg.pool
    import asyncpg.transaction

    from registry.db import database, queries
    from registry.handlers import bodies, publish_input, releases
    from registry.manifests import ManifestValidator
    from registry.offload import WorkerPool
    from registry.services import publish_checks, publishing

    # Absent from the code before the digests moved there: its stages are then simply not shown.
    release_files: Any = importlib.util.find_spec("registry.services.release_files") and importlib.import_module(
        "registry.services.release_files"
    )
    from registry.validation import RequestSchemas

    _wrap(stages, releases, "read_publish_input", "read + parse + shape the body")
    _wrap(stages, bodies, "read_body", "  read the body (JSON)")
    _wrap(stages, publish_input, "_read_part", "  read the multipart parts")
    _wrap(stages, publish_input, "parse_publish_json", "  parse the JSON")
    _wrap(stages, WorkerPool, "run", lambda pool, fn, *a: f"    worker process: {fn.__name__}")
    _wrap(stages, RequestSchemas, "validate", lambda self, name, body: f"  schema: {name}")
    _wrap(stages, publishing.Publishing, "authorize_publisher", "authorize the publisher (before the body)")
    _wrap(stages, publishing.Publishing, "prepare", "checks (publish_checks)")
    _wrap(stages, ManifestValidator, "parse", "  manifest: parse + schema")
    _wrap(stages, publish_checks, "_text", lambda data, pointer: f"  UTF-8 and NUL check {pointer}")
    _wrap(stages, publish_checks, "_content_sha256", "  content hash")
    _wrap(stages, publishing.Publishing, "_render_readme", "README")
    _wrap(stages, publishing, "render_once", "README (worker process)")
    _wrap(stages, publishing.loaders, "live_publisher", "load the publisher")
    _wrap(stages, publishing.Publishing, "authorize", "authorize")
    _wrap(stages, publishing, "_authorized", "authorize: publisher and membership")
    _wrap(stages, database.Database, "write", "transaction")
    _wrap(stages, publishing, "_new_release", "  rewrite link, hash, decode for the insert")
    _wrap(stages, publishing, "point_to_source_map", "    source map link rewrite")
    if release_files:
        _wrap(stages, release_files, "kept_part", "start digests: the bundle's part before its link")
        _wrap(stages, release_files.FileDigests, "finish", "  wait for the digests, add the link")
    for method in ("execute", "fetch", "fetchrow", "fetchval"):
        _wrap(stages, queries.Query, method, lambda query, *a, **k: f"  sql: {query.name}")
    _wrap(stages, asyncpg.transaction.Transaction, "__aexit__", "  COMMIT")
    _wrap(stages, asyncpg.transaction.Transaction, "start", "  BEGIN")
    _wrap(stages, asyncpg.pool.PoolAcquireContext, "__aenter__", "pool: acquire (every connection)")
    _wrap(stages, asyncpg.pool.PoolAcquireContext, "__aexit__", "pool: release and reset (every connection)")
    _wrap(stages, database.Database, "_committed", "  after commit (WAL position, invalidations)")


async def _run_stages(dsn: str, publishes: int) -> Stages:
    from registry.app import create_app
    from registry.config import Config

    stages = Stages()
    config = Config.from_env({"DATABASE_URL": dsn, "WHARF_ACCESS_LOG": "false", "WHARF_BCRYPT_COST": "4",
                              "WHARF_LOG_LEVEL": "WARNING"})  # fmt: skip
    app = create_app(config, migrate=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            auth = await sign_up(session, base)
            user = auth["X-Bench-User"]
            # Warm up once per form (worker processes start, validators compile), not measured.
            for form, make in FORMS.items():
                await publish_once(session, base, auth, *make(f"{user}/warm-{form}", "0.0.1"))
            _instrument(stages)
            stages.current.clear()
            for n in range(publishes):
                for form, make in FORMS.items():
                    body, headers = make(f"{user}/bench-{form}", f"1.0.{n}")
                    stages.finish(form, await publish_once(session, base, auth, body, headers))
    finally:
        await runner.cleanup()
    return stages


def _print_stages(stages: Stages) -> None:
    forms = list(stages.runs)
    print(f"\n{'stage (median ms of each publish)':<58}" + "".join(f"{form:>11}" for form in forms))
    for stage in stages.order:
        cells = []
        for form in forms:
            values = [run.get(stage, 0.0) for run in stages.runs[form]]
            cells.append(f"{statistics.median(values):>11.2f}" if any(values) else f"{'-':>11}")
        print(f"{stage:<58}" + "".join(cells))


def stages_main(args: argparse.Namespace) -> None:
    with scratch_database("wharf-bench-publish") as dsn:
        stages = asyncio.run(_run_stages(dsn, args.publishes))
    _print_stages(stages)


# --- storage -------------------------------------------------------------------------------------


# Each way's table, what makes it so, and its insert: literal statements, nothing assembled.
_STORAGE_WAYS = {
    "pglz (the seed's default)": (
        "CREATE TABLE bench_storage_pglz (id int, bundle text)",
        "INSERT INTO bench_storage_pglz VALUES ($1, $2)",
        "bench_storage_pglz",
    ),
    "STORAGE EXTERNAL": (
        "CREATE TABLE bench_storage_external (id int, bundle text);"
        " ALTER TABLE bench_storage_external ALTER COLUMN bundle SET STORAGE EXTERNAL",
        "INSERT INTO bench_storage_external VALUES ($1, $2)",
        "bench_storage_external",
    ),
    "COMPRESSION lz4": (
        "CREATE TABLE bench_storage_lz4 (id int, bundle text COMPRESSION lz4)",
        "INSERT INTO bench_storage_lz4 VALUES ($1, $2)",
        "bench_storage_lz4",
    ),
}
_HAS_LZ4 = "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"


async def _run_storage(dsn: str, inserts: int) -> dict[str, tuple[list[float], float]]:
    """Insert-and-commit of one 1 MiB bundle into a column stored each way, interleaved: the
    timings of each way, and the bytes it stored per row."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    ways = dict(_STORAGE_WAYS)
    if not await conn.fetchval(_HAS_LZ4):
        del ways["COMPRESSION lz4"]
    samples: dict[str, list[float]] = {way: [] for way in ways}
    try:
        for create, _, _ in ways.values():
            await conn.execute(create)
        for i in range(inserts):
            bundle = bundle_of(f"storage-{i}")
            for way, (_, insert, _) in ways.items():
                started = time.perf_counter()
                async with conn.transaction():
                    await conn.execute(insert, i, bundle)
                samples[way].append((time.perf_counter() - started) * 1000)
        sizes = {way: await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table) / inserts
                 for way, (_, _, table) in ways.items()}  # fmt: skip
    finally:
        await conn.close()  # the tables go with the scratch database
    return {way: (samples[way], sizes[way]) for way in ways}


def storage_main(args: argparse.Namespace) -> None:
    with scratch_database("wharf-bench-publish") as dsn:
        samples = asyncio.run(_run_storage(dsn, args.inserts))
    print(f"\n{'a 1 MiB bundle, INSERT + COMMIT':<28} {'p50 ms':>8} {'p99 ms':>8} {'KiB stored':>11}")
    for way, (timings, per_row) in samples.items():
        print(f"{way:<28} {statistics.median(timings):>8.2f} {percentile(timings, 0.99):>8.2f} {per_row / 1024:>11.0f}")


# --- ab --------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _server(tree: Path, dsn: str, workers: int) -> AsyncIterator[str]:
    """`registry serve` running the code in `tree` on the database `dsn` (migrated by it)."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=dsn, PYTHONPATH=str(tree), WHARF_ACCESS_LOG="false",
               WHARF_BCRYPT_COST="4", WHARF_LOG_LEVEL="WARNING")  # fmt: skip
    # Run from the tree: the working directory comes first on sys.path, before any installed copy.
    code = subprocess.run([sys.executable, "-c", "import registry; print(registry.__file__)"], env=env, cwd=tree,
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    if not code.startswith(str(tree.resolve())):
        raise RuntimeError(f"PYTHONPATH={tree} runs {code}, not the tree's code")
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--port", str(port), "--workers", str(workers)], env=env, cwd=tree
    )
    try:
        await wait_ready(f"http://127.0.0.1:{port}/readyz")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def _run_ab(
    admin: str, baseline: Path, candidate: Path | None, workers: int, publishes: int
) -> dict[str, dict[str, list[float]]]:
    trees = {"A (baseline)": baseline, "B (candidate)": candidate or Path(__file__).resolve().parent.parent}
    names = {label: f"wharf_bench_ab_{uuid.uuid4().hex[:8]}" for label in trees}
    samples: dict[str, dict[str, list[float]]] = {label: defaultdict(list) for label in trees}
    for name in names.values():
        await create_database(admin, name)
    try:
        async with contextlib.AsyncExitStack() as stack:
            bases = {
                label: await stack.enter_async_context(_server(tree, with_database(admin, names[label]), workers))
                for label, tree in trees.items()
            }
            session = await stack.enter_async_context(aiohttp.ClientSession())
            auths = {label: await sign_up(session, base) for label, base in bases.items()}
            for label, base in bases.items():  # warm-up: worker processes, validators, connections
                for form, make in FORMS.items():
                    for n in range(3):
                        user = auths[label]["X-Bench-User"]
                        await publish_once(session, base, auths[label], *make(f"{user}/warm-{form}", f"0.0.{n}"))
            for n in range(publishes):
                for form, make in FORMS.items():
                    order = list(bases) if n % 2 == 0 else list(reversed(bases))
                    for label in order:
                        user = auths[label]["X-Bench-User"]
                        body, headers = make(f"{user}/bench-{form}", f"1.0.{n}")
                        took = await publish_once(session, bases[label], auths[label], body, headers)
                        samples[label][form].append(took)
    finally:
        for name in names.values():
            await drop_database(admin, name)
    return samples


def _print_ab(samples: dict[str, dict[str, list[float]]]) -> None:
    labels = list(samples)
    print(f"\n{'server':<16} {'form':<10} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for form in FORMS:
        for label in labels:
            values = samples[label][form]
            print(f"{label:<16} {form:<10} {len(values):>4} {statistics.median(values):>8.2f} "
                  f"{percentile(values, 0.99):>8.2f} {statistics.fmean(values):>8.2f}")  # fmt: skip
        a, b = (statistics.median(samples[label][form]) for label in labels)
        print(f"{'':<16} {form:<10} B/A p50 = {b / a:.2f}")


def ab_main(args: argparse.Namespace) -> None:
    admin = os.environ.get("DATABASE_URL")
    if admin is None:
        with _embedded() as embedded_admin:
            _print_ab(asyncio.run(_run_ab(embedded_admin, args.baseline, args.candidate, args.workers, args.publishes)))
        return
    _print_ab(asyncio.run(_run_ab(admin, args.baseline, args.candidate, args.workers, args.publishes)))


@contextlib.contextmanager
def _embedded() -> Iterator[str]:
    from registry.db.embedded import EmbeddedPostgres

    workdir = Path(tempfile.mkdtemp(prefix="wharf-bench-publish-", dir="/tmp"))
    workdir.chmod(0o755)  # as root, the embedded server's own user must reach the data directory
    embedded = EmbeddedPostgres(workdir / "data")
    try:
        yield embedded.start().dsn()
    finally:
        embedded.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    stages = modes.add_parser("stages", help="the publish path stage by stage, in this process")
    stages.add_argument("--publishes", type=int, default=30)
    storage = modes.add_parser("storage", help="the insert of a 1 MiB bundle, by the column's storage")
    storage.add_argument("--inserts", type=int, default=50)
    ab = modes.add_parser("ab", help="baseline checkout against this one, end to end, interleaved")
    ab.add_argument("--baseline", type=Path, required=True, help="a checkout of the code to compare with")
    ab.add_argument("--candidate", type=Path, help="the checkout to compare (default: this one)")
    ab.add_argument("--publishes", type=int, default=100)
    ab.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    {"stages": stages_main, "storage": storage_main, "ab": ab_main}[args.mode](args)


if __name__ == "__main__":
    main()
