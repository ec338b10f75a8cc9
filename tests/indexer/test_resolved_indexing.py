"""Resolved dependencies end to end: real lockfiles (tests/fixtures/lockfiles, see SOURCES.md) in a
repository, indexed by the worker — from a directory or a git remote —, read back through
`GET /api/repos/{uri}/resolved`. Versions, depths and paths are read off the fixtures."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from indexer.remotes import RemoteSettings
from registry.git_sources import SourcePolicy
from tests.indexer.git_servers import Upstream, git_daemon
from tests.support import index as support_index
from tests.support.paging import every_item

Client = TestClient[web.Request, web.Application]
LOCKS = Path(__file__).resolve().parents[1] / "fixtures" / "lockfiles"
LOCAL = RemoteSettings(policy=SourcePolicy(allow_local=True))
URI = "example.com/monorepo"


def monorepo(root: Path) -> Path:
    """ripgrep's Cargo workspace (11 crates) at the root, helmet's npm lock v2 under web/ and rich's
    poetry.lock under docs/: three ecosystems, a workspace among them, in one repository."""
    shutil.copytree(LOCKS / "rust" / "BurntSushi__ripgrep", root)
    shutil.copytree(LOCKS / "npm" / "helmetjs__helmet", root / "web")
    shutil.copytree(LOCKS / "python" / "Textualize__rich", root / "docs")
    return root


async def work_the_queue(db_url: str, source: str, uri: str = URI, remotes: RemoteSettings = LOCAL) -> Any:
    """Queue `source` and let one worker work the queue dry; the queue entry left (None: indexed)."""
    return await support_index.work_the_queue(db_url, source, uri=uri, remotes=remotes)


def by_key(items: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(item["language"], item["package"], item["version"]): item for item in items}


async def test_a_monorepos_lockfiles_are_indexed_with_exact_versions_depths_and_paths(
    db_url: str, client: Client, tmp_path: Path
) -> None:
    assert await work_the_queue(db_url, str(monorepo(tmp_path / "repo"))) is None

    items = await every_item(client, f"/api/repos/{URI}/resolved", limit=100)
    assert len(items) == 52 + 292 + 49
    rows = by_key(items)
    assert rows[("rust", "memchr", "2.8.3")] == {
        "language": "rust",
        "package": "memchr",
        "version": "2.8.3",
        "depth": 1,
        "direct": True,
        "dev": False,
        "optional": False,
        "lockfile": "Cargo.lock",
        "parents": [],
        "path": ["memchr@2.8.3"],
        "hints": {
            "source": "registry+https://github.com/rust-lang/crates.io-index",
            "checksum": "cf8baf1c55e62ffcace7a9f06f4bd9cd3f0c4beb022d3b367256b91b87513d98",
            "importers": ["grep-matcher", "grep-searcher", "ignore"],  # the workspace members declaring it
        },
    }
    syn = rows[("rust", "syn", "2.0.119")]
    assert (syn["depth"], syn["direct"], syn["parents"]) == (3, False, ["derive_arbitrary@1.4.2"])
    assert syn["path"] == ["arbitrary@1.4.2", "derive_arbitrary@1.4.2", "syn@2.0.119"]
    assert rows[("rust", "syn", "3.0.3")]["path"] == ["serde_derive@1.0.229", "syn@3.0.3"]

    ansi = rows[("npm", "ansi-regex", "5.0.1")]  # eight deep, through a devDependency
    assert (ansi["lockfile"], ansi["depth"], ansi["dev"]) == ("web/package-lock.json", 8, True)
    assert ansi["path"] == [
        "node-zopfli@2.1.4",
        "prebuild-install@5.3.6",
        "npmlog@4.1.2",
        "gauge@2.7.4",
        "wide-align@1.1.5",
        "string-width@4.2.3",
        "strip-ansi@6.0.1",
        "ansi-regex@5.0.1",
    ]
    assert ("npm", "ansi-regex", "2.1.1") in rows  # the same package at a second version is its own row
    mdurl = rows[("python", "mdurl", "0.1.2")]
    assert (mdurl["lockfile"], mdurl["path"]) == ("docs/poetry.lock", ["markdown-it-py@3.0.0", "mdurl@0.1.2"])


async def test_the_listing_filters_by_language_direct_and_dev_and_pages_in_order(
    db_url: str, client: Client, tmp_path: Path
) -> None:
    assert await work_the_queue(db_url, str(monorepo(tmp_path / "repo"))) is None
    base = f"/api/repos/{URI}/resolved"

    rust = await every_item(client, f"{base}?language=rust", limit=7)
    assert len(rust) == 52 and {item["language"] for item in rust} == {"rust"}
    direct_rust = await every_item(client, f"{base}?language=rust&direct=true", limit=50)
    assert direct_rust and all(item["depth"] == 1 and item["path"] == [f"{item['package']}@{item['version']}"]
                               for item in direct_rust)  # fmt: skip
    transitive = await every_item(client, f"{base}?language=rust&direct=false", limit=50)
    assert len(direct_rust) + len(transitive) == 52
    dev_direct = await every_item(client, f"{base}?language=rust&direct=true&dev=true", limit=50)
    assert sorted(item["package"] for item in dev_direct) == ["crossbeam-channel", "glob", "regex"]

    whole = await every_item(client, base, limit=1000)
    paged = await every_item(client, base, limit=37)
    assert paged == whole, "pages follow one another without gaps or repeats"

    for query in ("language=cobol", "direct=yes", "dev=1", "limit=0", "cursor=garbage"):
        response = await client.get(f"{base}?{query}")
        assert response.status == 400, query
        assert response.content_type == "application/problem+json"
    assert (await client.get("/api/repos/example.com/unknown/resolved")).status == 404


async def test_a_new_revision_replaces_the_resolved_rows_at_once(db_url: str, client: Client, tmp_path: Path) -> None:
    """Readers polling while the worker re-indexes see the old rows or the new ones, never a mix."""
    repo = monorepo(tmp_path / "repo")
    assert await work_the_queue(db_url, str(repo)) is None
    shutil.rmtree(repo / "web")  # the npm lock goes; the Cargo and poetry locks stay
    (repo / "docs" / "poetry.lock").unlink()
    shutil.copytree(LOCKS / "python" / "pallets__itsdangerous", repo / "docs", dirs_exist_ok=True)  # a uv.lock instead

    seen: set[int] = set()
    done = asyncio.Event()

    async def watch() -> None:
        conn = await asyncpg.connect(db_url)
        try:
            while not done.is_set():
                seen.add(await conn.fetchval("SELECT count(*) FROM resolved_dep"))
                await asyncio.sleep(0)
        finally:
            await conn.close()

    watcher = asyncio.create_task(watch())
    try:
        assert await work_the_queue(db_url, str(repo)) is None
    finally:
        done.set()
        await watcher
    after = await every_item(client, f"/api/repos/{URI}/resolved", limit=1000)
    assert {item["lockfile"] for item in after} == {"Cargo.lock", "docs/uv.lock"}
    assert seen <= {52 + 292 + 49, len(after)}


async def test_a_git_remote_yields_resolved_rows(db_url: str, client: Client, tmp_path: Path) -> None:
    """fd's Cargo.lock (version 3) committed and served by `git daemon`, read from the worker's mirror."""
    upstream = Upstream(tmp_path, "fd")
    fd = LOCKS / "rust" / "sharkdp__fd"
    upstream.commit({"Cargo.toml": (fd / "Cargo.toml").read_bytes(), "Cargo.lock": (fd / "Cargo.lock").read_bytes()})
    remotes = RemoteSettings(
        policy=SourcePolicy(schemes=("git",), hosts=("127.0.0.1",)), mirror_dir=tmp_path / "mirrors", timeout=10.0
    )
    with git_daemon(tmp_path / "served") as port:
        assert await work_the_queue(db_url, f"git://127.0.0.1:{port}/fd.git", "example.com/fd", remotes) is None
    items = await every_item(client, "/api/repos/example.com/fd/resolved?language=rust", limit=1000)
    assert len(items) == 110  # 111 [[package]] less fd-find itself
    clap = by_key(items)[("rust", "clap", "4.5.50")]
    assert (clap["direct"], clap["lockfile"], clap["path"]) == (True, "Cargo.lock", ["clap@4.5.50"])
