"""The concurrency soak: publishers, readers and indexer workers at once against a real `registry serve`.

`bench/stress_concurrency.py` runs it at full size by hand; `tests/stress/` runs a bounded form in
the suite and asserts on its `Report`. What it drives and what it checks afterwards is described in
the command's help (`python -m bench.stress_concurrency --help`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil

from indexer.remotes import RemoteSettings
from indexer.worker import WorkerSettings, run_worker
from registry.git_sources import SourcePolicy
from registry.store import index_queue
from registry.store import package_index as index_store
from testkit.processes import REPO_ROOT, free_port

DOCUMENTED = frozenset({200, 201, 204, 304, 409, 429})
PASSWORD = "stress test password"  # noqa: S105 (a throwaway user on a throwaway database)
LIBS = 12  # npm packages stress-lib-0..11 the generated repositories depend on
RANGES = ("^1.0.0", "^1.2.0", "~1.4.0", ">=1.0.0 <2.0.0", "^2.0.0", "1.4.2", "*")


@dataclass(frozen=True)
class StressConfig:
    publishers: int = 50
    readers: int = 200
    workers: int = 5
    seconds: float = 30.0
    repos: int | None = None  # default: 40 per worker
    seed: int = 1
    max_growth_mib: float = 64.0  # RSS growth over the second half above this is a failure
    server_workers: int = 1


@dataclass
class Ack:
    """An acknowledged publish: what was sent, and what the registry said it stored."""

    body: dict[str, Any]
    bundle_sha256: str
    source_map_sha256: str | None


@dataclass
class Report:
    tried: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    by_kind: Counter[tuple[str, int]] = field(default_factory=Counter)
    transport: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    lost: Counter[str] = field(default_factory=Counter)
    rss: list[tuple[float, int]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    undocumented_paths: dict[tuple[str, int], set[str]] = field(default_factory=dict)

    def fail(self, category: str, detail: str) -> None:
        self.failures[category] += 1
        self.examples.setdefault(category, detail[:500])

    @property
    def undocumented(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in DOCUMENTED)

    @property
    def ok(self) -> bool:
        return not self.lost and not self.undocumented and not self.transport and not self.failures

    def print(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)


class Client:
    """One shared aiohttp session; every answer's status lands in the report's histogram."""

    def __init__(self, session: aiohttp.ClientSession, base: str, report: Report) -> None:
        self.session, self.base, self.report = session, base, report

    async def call(
        self, method: str, path: str, kind: str, expect: frozenset[int] | set[int] | None = None, **kwargs: Any
    ) -> tuple[int, bytes, Mapping[str, str]]:
        try:
            async with self.session.request(method, self.base + path, **kwargs) as response:
                body = await response.read()
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.report.transport[f"{kind}: {type(exc).__name__}"] += 1
            self.report.examples.setdefault(f"transport {kind}", f"{method} {path}: {exc!r}")
            return 0, b"", {}
        self.report.statuses[status] += 1
        self.report.by_kind[(kind, status)] += 1
        if status not in DOCUMENTED:
            seen = self.report.undocumented_paths.setdefault((kind, status), set())
            if len(seen) < 5:
                seen.add(f"{method} {path}")
            self.report.examples.setdefault(f"status {status}", f"{method} {path}: {body[:400]!r}")
        elif expect is not None and status not in expect:
            self.report.fail(f"{kind}: unexpected {status}", f"{method} {path}: {body[:400]!r}")
        return status, body, headers


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- publishers -------------------------------------------------------------------------------


class Catalog:
    """What the publishers have had acknowledged, shared with the readers."""

    def __init__(self) -> None:
        self.acks: dict[str, dict[str, Ack]] = {}
        self.etags: dict[tuple[str, str], str] = {}

    def ack(self, extension: str, version: str, ack: Ack) -> None:
        self.acks.setdefault(extension, {})[version] = ack

    def pick(self, rng: random.Random) -> tuple[str, str, Ack] | None:
        extensions = [e for e, versions in self.acks.items() if versions]
        if not extensions:
            return None
        extension = rng.choice(extensions)
        version = rng.choice(list(self.acks[extension]))
        return extension, version, self.acks[extension][version]


def make_body(extension: str, version: str, tag: str, salt: str, rng: random.Random) -> dict[str, Any]:
    lines = [f"export function f{n}(a) {{ return a + {rng.randrange(10**6)}; }} // {salt}\n" for n in range(40)]
    lines += ["x" * rng.randrange(0, 3000) + "\n"]
    name = extension.split("/")[1]
    return {
        "extension_id": extension,
        "version": version,
        "tag": tag,
        "manifest": {
            "title": f"Stress {name}",
            "description": f"A stress-test extension ({name}), version {version}",
            "activationEvents": ["*"],
            "repository": {"type": "git", "url": f"https://example.com/{extension}"},
            "tags": ["stress", name],
        },
        "bundle": "".join(lines) + "//# sourceMappingURL=bundle.js.map\n",
        "source_map": json.dumps({"version": 3, "sources": [f"{name}.ts"], "mappings": "AAAA", "x": salt}),
    }


async def publisher(
    client: Client, token: str, extension: str, catalog: Catalog, deadline: float, rng: random.Random
) -> None:
    report = client.report
    auth = {"Authorization": f"token {token}"}
    n = 0

    async def publish(body: dict[str, Any], kind: str, expect: frozenset[int]) -> tuple[int, dict[str, Any] | None]:
        report.tried[kind] += 1
        status, raw, _ = await client.call("POST", "/api/publish", kind, expect, json=body, headers=auth)
        return status, json.loads(raw) if status in (200, 201) else None

    def record(body: dict[str, Any], answer: dict[str, Any]) -> None:
        source_map = answer.get("source_map") or {}
        if source_map.get("sha256") != sha(body["source_map"].encode()):
            report.fail("publish: source map sha256 differs from what was sent", json.dumps(answer)[:400])
        catalog.ack(extension, body["version"], Ack(body, answer["bundle"]["sha256"], source_map.get("sha256")))

    while time.monotonic() < deadline:
        roll = rng.random()
        versions = catalog.acks.get(extension, {})
        if roll < 0.15 and versions:  # identical re-publish: 200 with the same release
            version = rng.choice(list(versions))
            ack = versions[version]
            _, answer = await publish(ack.body, "republish identical", frozenset({200}))
            if answer is not None and answer["bundle"]["sha256"] != ack.bundle_sha256:
                report.fail("republish identical: sha256 changed", f"{extension}@{version}")
        elif roll < 0.30 and versions:  # different content under an acknowledged version: 409
            version = rng.choice(list(versions))
            changed = dict(versions[version].body)
            what = rng.choice(("bundle", "source_map", "tag", "manifest"))
            if what == "bundle":
                changed["bundle"] = changed["bundle"] + "// changed\n"
            elif what == "source_map":
                changed["source_map"] = changed["source_map"][:-1] + ', "changed": true}'
            elif what == "tag":
                changed["tag"] = "beta" if changed["tag"] == "release" else "release"
            else:
                changed["manifest"] = {**changed["manifest"], "description": "changed"}
            await publish(changed, "republish different", frozenset({409}))
        elif roll < 0.36:  # two publishes of one new version at once
            n += 1
            version = f"1.{n // 100}.{n % 100}"
            first = make_body(extension, version, "release", uuid.uuid4().hex, rng)
            same = rng.random() < 0.5
            second = first if same else make_body(extension, version, "release", uuid.uuid4().hex, rng)
            kind = "race identical" if same else "race different"
            results = await asyncio.gather(
                publish(first, kind, frozenset({200, 201, 409})), publish(second, kind, frozenset({200, 201, 409}))
            )
            statuses = sorted(status for status, _ in results)
            wanted = [200, 201] if same else [201, 409]
            if 0 not in statuses and statuses != wanted:
                report.fail(f"{kind}: answers {statuses}, wanted {wanted}", f"{extension}@{version}")
            winners = [(body, answer) for body, (_, answer) in zip((first, second), results, strict=True) if answer]
            if len({answer["bundle"]["sha256"] for _, answer in winners}) > 1:
                report.fail(f"{kind}: two different acknowledgements", f"{extension}@{version}")
            for body, answer in winners[:1]:
                record(body, answer)
        else:  # a new version (now and then a pre-release under the beta tag)
            n += 1
            beta = rng.random() < 0.1
            version = f"1.{n // 100}.{n % 100}" + ("-beta.1" if beta else "")
            body = make_body(extension, version, "beta" if beta else "release", uuid.uuid4().hex, rng)
            _, answer = await publish(body, "publish new", frozenset({201}))
            if answer is not None:
                record(body, answer)


# --- readers ----------------------------------------------------------------------------------


async def reader(
    client: Client, catalog: Catalog, libs: list[str], apps: list[str], deadline: float, rng: random.Random
) -> None:
    report = client.report
    ok = frozenset({200})
    while time.monotonic() < deadline:
        picked = catalog.pick(rng)
        roll = rng.random()
        if picked is None or roll < 0.15:
            await read_index(client, libs, apps, rng)
            continue
        extension, version, ack = picked
        base = f"/api/extensions/{extension}"
        if roll < 0.45:
            report.tried["read bundle by version"] += 1
            etag = catalog.etags.get((extension, version))
            revalidate = bool(etag) and rng.random() < 0.3
            headers = {"If-None-Match": etag} if revalidate and etag else {}
            headers["Accept-Encoding"] = rng.choice(("identity", "gzip", "br", "gzip, br"))
            expect = frozenset({304}) if revalidate else ok
            status, body, answer = await client.call(
                "GET", f"{base}/-/bundle.js?version={version}", "bundle by version", expect, headers=headers
            )
            if status == 200:
                catalog.etags[(extension, version)] = answer.get("ETag", "")
                if sha(body) != ack.bundle_sha256:
                    report.fail(
                        "bundle by version: bytes differ from the acknowledged sha256", f"{extension}@{version}"
                    )
        elif roll < 0.55:
            report.tried["read source map by version"] += 1
            status, body, _ = await client.call("GET", f"{base}/-/bundle.js.map?version={version}", "source map", ok)
            if status == 200 and sha(body) != ack.source_map_sha256:
                report.fail("source map: bytes differ from the acknowledged sha256", f"{extension}@{version}")
        elif roll < 0.65:
            report.tried["read bundle by tag"] += 1
            tag = ack.body["tag"]
            etag = catalog.etags.get((extension, "tag:" + tag))
            headers = {"If-None-Match": etag} if etag and rng.random() < 0.5 else {}
            status, _, answer = await client.call(
                "GET", f"{base}/-/bundle.js?tag={tag}", "bundle by tag", frozenset({200, 304}), headers=headers
            )
            if status == 200:
                catalog.etags[(extension, "tag:" + tag)] = answer.get("ETag", "")
        elif roll < 0.75:
            report.tried["read extension metadata"] += 1
            await client.call("GET", base, "extension metadata", ok)
        elif roll < 0.82:
            report.tried["read release list (2 pages)"] += 1
            await paged(client, f"{base}/releases?limit=5", "release list", 2)
        else:
            report.tried["read listing (search, up to 3 pages)"] += 1
            query = rng.choice(("", "q=stress&", f"q={extension.split('/')[1][:6]}&", "q=org&", "q=zzzz-none&"))
            sort = rng.choice(("", "sort=name&", "sort=updated&", "sort=downloads&"))
            await paged(client, f"/api/extensions?{query}{sort}limit={rng.randrange(1, 20)}", "listing", 3)


async def paged(client: Client, path: str, kind: str, pages: int) -> list[Any]:
    items: list[Any] = []
    for _ in range(pages):
        status, raw, _ = await client.call("GET", path, kind, frozenset({200}))
        if status != 200:
            break
        page = json.loads(raw)
        items += page["items"]
        if not page.get("next_cursor"):
            break
        path = path.split("&cursor=")[0] + "&cursor=" + page["next_cursor"]
    return items


async def read_index(client: Client, libs: list[str], apps: list[str], rng: random.Random) -> None:
    roll = rng.random()
    lib = rng.choice(libs)
    if roll < 0.5:
        client.report.tried["dependents (paged)"] += 1
        version = rng.choice(("", "&version=1.4.2", "&version=2.0.0"))
        await paged(client, f"/api/dependents?language=npm&package={lib}{version}&limit={rng.randrange(1, 30)}",
                    "dependents", 3)  # fmt: skip
    elif roll < 0.7:
        client.report.tried["dependents summary"] += 1
        await client.call("GET", f"/api/dependents/summary?language=npm&package={lib}", "dependents summary",
                          frozenset({200}))  # fmt: skip
    elif roll < 0.85:
        client.report.tried["packages"] += 1
        await client.call("GET", f"/api/packages?language=npm&name={rng.choice(apps)}", "packages", frozenset({200}))
    else:
        client.report.tried["dependents (go)"] += 1
        await client.call("GET", f"/api/dependents?language=go&package=example.com/stress/{lib}&limit=10",
                          "dependents", frozenset({200}))  # fmt: skip


# --- the package index ------------------------------------------------------------------------


class Repositories:
    """Small generated repositories on disk; `expected` is what the index must hold at the end."""

    def __init__(self, root: Path, count: int, rng: random.Random) -> None:
        self.root, self.count, self.rng = root, count, rng
        self.generation: dict[int, int] = {}

    def uri(self, n: int) -> str:
        return f"example.com/stress/app{n}"

    def write(self, n: int) -> Path:
        generation = self.generation.get(n, -1) + 1
        self.generation[n] = generation
        rng = random.Random(f"{n}/{generation}")
        directory = self.root / f"app{n}"
        directory.mkdir(parents=True, exist_ok=True)
        deps = {f"stress-lib-{k}": rng.choice(RANGES) for k in rng.sample(range(LIBS), rng.randrange(1, 5))}
        manifests = {"package.json": {"name": f"stress-app-{n}", "version": f"1.0.{generation}", "dependencies": deps}}
        if n % 5 == 0:
            sub = {f"stress-lib-{rng.randrange(LIBS)}": "^1.0.0"}
            manifests["packages/sub/package.json"] = {"name": f"stress-app-{n}-sub", "dependencies": sub}
        for path, content in manifests.items():
            atomic_write(directory / path, json.dumps(content))
        if n % 3 == 0:
            lib = f"example.com/stress/stress-lib-{rng.randrange(LIBS)}"
            atomic_write(directory / "go.mod", f"module example.com/stress/app{n}\n\ngo 1.22\n\nrequire {lib} v1.2.0\n")
        return directory

    def expected(self) -> tuple[Counter[str], Counter[str]]:
        """npm dependents rows per library, and npm packages defined per repository, from the files."""
        dependents: Counter[str] = Counter()
        defined: Counter[str] = Counter()
        for n in self.generation:
            for manifest in (self.root / f"app{n}").rglob("package.json"):
                content = json.loads(manifest.read_text())
                dependents.update(content.get("dependencies", {}).keys())
                defined[self.uri(n)] += 1
        return dependents, defined


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + f".{uuid.uuid4().hex}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


async def feed_queue(pool: asyncpg.Pool, repos: Repositories, deadline: float, report: Report) -> None:
    """Queue every repository over the first two thirds of the run; re-queue some with new content."""
    started = time.monotonic()
    span = max(0.1, (deadline - started) * 2 / 3)
    queued: list[int] = []
    for n in range(repos.count):
        source = repos.write(n)
        async with pool.acquire() as conn:
            await index_queue.enqueue(conn, await index_store.ensure_repo(conn, repos.uri(n)), str(source), None)
        queued.append(n)
        report.tried["repositories queued"] += 1
        if repos.rng.random() < 0.2 and len(queued) > 5:  # new content for one already queued or indexed
            again = repos.rng.choice(queued[:-1])
            source = repos.write(again)
            async with pool.acquire() as conn:
                await index_queue.enqueue(
                    conn, await index_store.ensure_repo(conn, repos.uri(again)), str(source), None
                )
            report.tried["repositories re-queued with new content"] += 1
        pause = started + span * (n + 1) / repos.count - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)


# --- setup, memory, verification --------------------------------------------------------------


async def sign_up(client: Client, username: str) -> str:
    signup = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    status, raw, _ = await client.call("POST", "/api/users", "setup", frozenset({201}), json=signup)
    assert status == 201, raw
    basic = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    status, raw, _ = await client.call(
        "POST", "/api/tokens", "setup", frozenset({201}),
        json={"note": "stress", "scopes": ["user:all"]}, headers={"Authorization": f"Basic {basic}"},
    )  # fmt: skip
    assert status == 201, raw
    token: str = json.loads(raw)["token"]
    return token


async def set_up_publishers(client: Client, count: int, run: str) -> list[tuple[str, str]]:
    """(token, extension id) per publisher; the first few publish under one organization."""
    await sign_up(client, f"{run}-admin")  # the site's first user (site admin) publishes nothing
    names = [f"{run}-p{n}" for n in range(count)]
    tokens = await asyncio.gather(*(sign_up(client, name) for name in names))
    in_org = min(4, count // 2) if count >= 2 else 0
    org = f"{run}-org"
    if in_org:
        owner = {"Authorization": f"token {tokens[0]}"}
        status, raw, _ = await client.call("POST", "/api/orgs", "setup", frozenset({201}), json={"name": org},
                                           headers=owner)  # fmt: skip
        assert status == 201, raw
        for n in range(1, in_org):
            status, raw, _ = await client.call(
                "POST", f"/api/orgs/{org}/invitations", "setup", frozenset({201}), json={"username": names[n]},
                headers=owner,
            )  # fmt: skip
            assert status == 201, raw
            invitation = json.loads(raw)["id"]
            status, raw, _ = await client.call(
                "POST", f"/api/invitations/{invitation}/respond", "setup", frozenset({200}), json={"accept": True},
                headers={"Authorization": f"token {tokens[n]}"},
            )  # fmt: skip
            assert status == 200, raw
    return [
        (token, f"{org}/ext{n}" if n < in_org else f"{name}/ext")
        for n, (name, token) in enumerate(zip(names, tokens, strict=True))
    ]


async def sample_rss(pid: int, report: Report, stop: asyncio.Event) -> None:
    process = psutil.Process(pid)
    started = time.monotonic()
    while not stop.is_set():
        with contextlib.suppress(psutil.Error):  # with --workers N: the supervisor and its N workers
            rss = process.memory_info().rss + sum(child.memory_info().rss for child in process.children())
            report.rss.append((time.monotonic() - started, rss))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def verify(client: Client, dsn: str, catalog: Catalog, repos: Repositories, report: Report) -> None:
    # every acknowledged publish, byte for byte
    semaphore = asyncio.Semaphore(32)

    async def check(extension: str, version: str, ack: Ack) -> None:
        base = f"/api/extensions/{extension}"
        async with semaphore:
            status, body, _ = await client.call("GET", f"{base}/-/bundle.js?version={version}", "verify bundle")
            if status != 200:
                report.lost[f"bundle answered {status}"] += 1
                report.examples.setdefault("lost bundle", f"{extension}@{version}: {status}")
            elif sha(body) != ack.bundle_sha256:
                report.lost["bundle bytes differ"] += 1
                report.examples.setdefault("lost bundle bytes", f"{extension}@{version}")
            elif not body.startswith(ack.body["bundle"].split("//# sourceMappingURL=")[0].encode()):
                report.lost["bundle text is not what was sent"] += 1
            status, body, _ = await client.call("GET", f"{base}/-/bundle.js.map?version={version}", "verify map")
            if status != 200 or sha(body) != ack.source_map_sha256 or body != ack.body["source_map"].encode():
                report.lost["source map missing or different"] += 1
                report.examples.setdefault("lost source map", f"{extension}@{version}: {status}")

    acknowledged = [(e, v, a) for e, versions in catalog.acks.items() for v, a in versions.items()]
    await asyncio.gather(*(check(*item) for item in acknowledged))
    report.tried["acknowledged publishes verified"] = len(acknowledged)

    conn = await asyncpg.connect(dsn)
    try:
        duplicates = await conn.fetch(
            "SELECT registry_extension_id, release_version, count(*) FROM registry_extension_releases"
            " WHERE release_version IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1"
        )
        stored = await conn.fetchval(
            "SELECT count(*) FROM registry_extension_releases r JOIN registry_extensions e"
            " ON e.id = r.registry_extension_id WHERE e.deleted_at IS NULL AND r.deleted_at IS NULL"
        )
        queue = await conn.fetch("SELECT repo_id, attempts, last_error, claimed_by FROM repo_index_queue")
        rows = await conn.fetch(
            "SELECT r.uri::text AS uri, count(p.*) AS n FROM repo r LEFT JOIN pkgs p"
            " ON p.repo_id = r.id AND p.language = 'npm' WHERE r.uri LIKE 'example.com/stress/%' GROUP BY 1"
        )
    finally:
        await conn.close()
    if duplicates:
        report.lost["duplicated (extension, version)"] += len(duplicates)
        report.examples.setdefault("duplicates", str([tuple(r) for r in duplicates[:5]]))
    report.print(
        f"releases stored: {stored}; acknowledged: {len(acknowledged)}; duplicated versions: {len(duplicates)}"
    )
    if queue:
        report.lost["repositories still queued"] += len(queue)
        report.examples.setdefault("queue", str([dict(r) for r in queue[:5]]))

    expected_dependents, expected_defined = repos.expected()
    indexed = {row["uri"]: row["n"] for row in rows}
    stale = [uri for uri, n in expected_defined.items() if indexed.get(uri) != n]
    if stale:
        report.lost["repositories not indexed as on disk (packages)"] += len(stale)
        report.examples.setdefault("packages", f"{stale[:5]}: {[indexed.get(u) for u in stale[:5]]}")
    wrong = []
    for lib in (f"stress-lib-{k}" for k in range(LIBS)):
        items = await paged(client, f"/api/dependents?language=npm&package={lib}&limit=1000", "verify dependents", 50)
        if len(items) != expected_dependents[lib]:
            wrong.append(f"{lib}: {len(items)} rows, {expected_dependents[lib]} in the files")
    if wrong:
        report.lost["dependents not as on disk"] += len(wrong)
        report.examples.setdefault("dependents", "; ".join(wrong[:5]))
    report.tried["repositories checked against the files"] = len(expected_defined)


# --- the run ----------------------------------------------------------------------------------


async def stress(dsn: str, config: StressConfig, log_path: Path | None = None) -> Report:
    """Run the soak against a migrated database at `dsn`; returns the report (see `.ok`)."""
    report = Report()
    rng = random.Random(config.seed)
    run = f"s{uuid.uuid4().hex[:6]}"
    workdir = Path(tempfile.mkdtemp(prefix="wharf-stress-", dir="/tmp"))
    log_path = log_path or workdir / "server.log"
    port = free_port()
    env = dict(os.environ, DATABASE_URL=dsn, WHARF_ACCESS_LOG="false", WHARF_BCRYPT_COST="4", WHARF_LOG_LEVEL="WARNING")
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "registry", "serve", "--port", str(port), "--no-migrate",
             "--workers", str(config.server_workers)],
            env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=config.workers + 2)
    stop_workers, stop_sampling = asyncio.Event(), asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
            client = Client(session, "", report)
            await wait_until_ready(client, server)
            identities = await set_up_publishers(client, config.publishers, run)
            catalog = Catalog()
            repos = Repositories(workdir / "repos", config.repos or 40 * max(1, config.workers), rng)
            libs = [f"stress-lib-{k}" for k in range(LIBS)]
            apps = [f"stress-app-{n}" for n in range(repos.count)]

            sampler = asyncio.create_task(sample_rss(server.pid, report, stop_sampling))
            started = time.monotonic()
            deadline = started + config.seconds
            local = RemoteSettings(policy=SourcePolicy(allow_local=True))  # the queue holds local paths
            settings = WorkerSettings(lease_seconds=120, poll_seconds=0.2, retry_seconds=1, remotes=local)
            workers = [
                asyncio.create_task(run_worker(pool, stop_workers, settings, f"{run}-worker-{n}"))
                for n in range(config.workers)
            ]
            load = [
                *(publisher(client, token, extension, catalog, deadline, random.Random(f"{config.seed}/p{n}"))
                  for n, (token, extension) in enumerate(identities)),
                *(reader(client, catalog, libs, apps, deadline, random.Random(f"{config.seed}/r{n}"))
                  for n in range(config.readers)),
                feed_queue(pool, repos, deadline, report),
            ]  # fmt: skip
            await asyncio.gather(*load)
            load_seconds = time.monotonic() - started
            stop_sampling.set()
            await sampler
            drained = await drain(pool, timeout=max(30.0, config.seconds))
            stop_workers.set()
            indexed = sum(await asyncio.gather(*workers))
            report.tried["repositories indexed by the workers (runs)"] = indexed
            if not drained:
                report.print("the queue did not drain in time")
            await verify(client, dsn, catalog, repos, report)
            summarise(report, config, load_seconds)
            memory_check(report, config)
    finally:
        stop_workers.set()
        stop_sampling.set()
        await pool.close()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server_log = log_path.read_text(errors="replace")
        if "Traceback" in server_log or "ERROR" in server_log:
            report.print("server log (errors):")
            for line in server_log.splitlines()[-40:]:
                report.print("  " + line)
        shutil.rmtree(workdir, ignore_errors=True)
    report.print(f"RESULT: {'OK' if report.ok else 'FAILED'}")
    return report


async def wait_until_ready(client: Client, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"registry serve exited with {server.returncode}")
        with contextlib.suppress(aiohttp.ClientError):
            async with client.session.get("/readyz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError("registry serve never became ready")


async def drain(pool: asyncpg.Pool, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with pool.acquire() as conn:
            if not await conn.fetchval("SELECT count(*) FROM repo_index_queue"):
                return True
        await asyncio.sleep(0.2)
    return False


def summarise(report: Report, config: StressConfig, load_seconds: float) -> None:
    out = report.print
    out(f"\n{config.publishers} publishers, {config.readers} readers, {config.workers} indexer workers, "
        f"{load_seconds:.1f} s of load (server workers: {config.server_workers})")  # fmt: skip
    out("tried:")
    for what, n in sorted(report.tried.items()):
        out(f"  {what:<46} {n:>8}")
    total = sum(report.statuses.values())
    out(f"statuses ({total} responses, {total / load_seconds:.0f}/s over the run incl. setup and checks):")
    for status, n in sorted(report.statuses.items()):
        mark = "" if status in DOCUMENTED else "   <-- UNDOCUMENTED"
        out(f"  {status}: {n}{mark}")
    out("statuses by request kind:")
    for (kind, status), n in sorted(report.by_kind.items()):
        out(f"  {kind:<30} {status}: {n}")
    out(f"transport errors: {sum(report.transport.values())} {dict(report.transport) or ''}")
    out(f"unexpected answers: {sum(report.failures.values())} {dict(report.failures) or ''}")
    out(f"lost: {sum(report.lost.values())} {dict(report.lost) or ''}")
    for key, example in report.examples.items():
        out(f"  e.g. {key}: {example}")
    for (kind, status), paths in report.undocumented_paths.items():
        out(f"  {status} on {kind}, e.g.: {', '.join(sorted(paths))}")


def memory_check(report: Report, config: StressConfig) -> None:
    if len(report.rss) < 2:
        report.print("server RSS: not enough samples")
        return
    mib = 1024 * 1024
    values = [rss for _, rss in report.rss]
    middle = len(values) // 2
    growth = (values[-1] - values[middle]) / mib
    report.print(
        f"server RSS ({len(values)} samples, 1/s): start {values[0] / mib:.1f} MiB, peak {max(values) / mib:.1f} MiB,"
        f" end {values[-1] / mib:.1f} MiB; growth over the second half {growth:+.1f} MiB"
    )
    if growth > config.max_growth_mib:
        report.fail("server RSS grew over the second half", f"{growth:.1f} MiB > {config.max_growth_mib} MiB")
