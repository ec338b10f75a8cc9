"""Repositories fetched from git remotes, against real git servers on loopback: a mirror per
repository, fetched incrementally (force-pushes included), bounded in time and size, refusing
what the operator did not allow, running nothing from the repository, and never showing a
credential."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from indexer.git import Git, RepositoryError
from indexer.remotes import Remotes, RemoteSettings, mirror_name
from indexer.worker import WorkerSettings, run_worker
from registry.db.pool import create_pool
from registry.git_sources import SourcePolicy
from registry.store import index_queue
from registry.store import package_index as index_store
from registry.store.index_queue import QueueEntry
from tests.indexer.git_servers import Upstream, git, git_daemon, http_backend, silent_server
from tests.support.index import work_the_queue

Server = Callable[..., Awaitable[TestServer]]
LOOPBACK = SourcePolicy(schemes=("git", "http"), hosts=("127.0.0.1",))


def _package_json(name: str, deps: dict[str, str]) -> str:
    return json.dumps({"name": name, "version": "1.0.0", "dependencies": deps})


def _settings(tmp_path: Path, **changes: object) -> RemoteSettings:
    base = RemoteSettings(policy=LOOPBACK, mirror_dir=tmp_path / "mirrors", timeout=10.0)
    return base.__class__(**{**base.__dict__, **changes})


async def _index(
    db_url: str,
    remotes: RemoteSettings,
    source: str,
    *,
    uri: str = "example.com/r",
    credentials: str | None = None,
    revision: str | None = None,
) -> QueueEntry | None:
    return await work_the_queue(db_url, source, uri=uri, remotes=remotes, credentials=credentials, revision=revision)


async def _dependencies(db: asyncpg.Connection, uri: str = "example.com/r") -> set[str]:
    rows = await db.fetch(
        "SELECT g.dep_data->>'package' AS p FROM global_dep g JOIN repo r ON r.id = g.repo_id WHERE r.uri = $1", uri
    )
    return {row["p"] for row in rows}


async def _indexed_revision(db: asyncpg.Connection, uri: str = "example.com/r") -> str | None:
    revision: str | None = await db.fetchval("SELECT indexed_revision FROM repo WHERE uri = $1", uri)
    return revision


async def test_a_remote_repository_is_mirrored_blobless_and_indexed(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    upstream = Upstream(tmp_path, "app")
    commit = upstream.commit(
        {
            "package.json": _package_json("app", {"lodash": "^4"}),
            "requirements.txt": "-r extra/more.in\n",  # a file a parser reads on the way: fetched on demand
            "extra/more.in": "flask>=2\n",
            "assets/big.bin": b"\0" * 300_000,
        }
    )
    settings = _settings(tmp_path)
    with git_daemon(tmp_path / "served") as port:
        assert await _index(db_url, settings, f"git://127.0.0.1:{port}/app.git") is None
    assert await _dependencies(db) == {"lodash", "flask"}
    assert await _indexed_revision(db) == commit
    mirror = settings.mirrors / mirror_name(f"git://127.0.0.1:{port}/app.git")
    missing = git("rev-list", "--objects", "--no-walk", "--missing=print", commit, cwd=mirror)
    big = git("rev-parse", f"{commit}:assets/big.bin", cwd=upstream.work)
    assert f"?{big}" in missing.splitlines(), "a blob no parser wants is never fetched"
    assert not (mirror / "hooks").exists() or not any((mirror / "hooks").glob("*[!.sample]"))


async def test_a_server_without_filters_gets_a_full_clone(db_url: str, db: asyncpg.Connection, tmp_path: Path) -> None:
    upstream = Upstream(tmp_path, "app", allow_filter=False)
    upstream.commit({"package.json": _package_json("app", {"react": "^18"})})
    with git_daemon(tmp_path / "served") as port:
        assert await _index(db_url, _settings(tmp_path), f"git://127.0.0.1:{port}/app.git") is None
    assert await _dependencies(db) == {"react"}


async def test_a_new_commit_and_a_force_push_are_seen_on_the_next_index(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    upstream = Upstream(tmp_path, "app")
    upstream.commit({"package.json": _package_json("app", {"old-dep": "1"})})
    settings = _settings(tmp_path)
    with git_daemon(tmp_path / "served") as port:
        source = f"git://127.0.0.1:{port}/app.git"
        assert await _index(db_url, settings, source) is None
        pushed = upstream.commit({"package.json": _package_json("app", {"old-dep": "1", "new-dep": "2"})})
        assert await _index(db_url, settings, source) is None
        assert (await _dependencies(db), await _indexed_revision(db)) == ({"old-dep", "new-dep"}, pushed)

        rewritten = upstream.commit({"requirements.txt": "requests>=2\n"}, fresh=True)  # unrelated history
        assert await _index(db_url, settings, source) is None
        assert (await _dependencies(db), await _indexed_revision(db)) == ({"requests"}, rewritten)


async def test_a_branch_a_tag_or_a_commit_is_read_as_asked(db_url: str, db: asyncpg.Connection, tmp_path: Path) -> None:
    upstream = Upstream(tmp_path, "app")
    first = upstream.commit({"package.json": _package_json("app", {"first": "1"})})
    git("tag", "v1", cwd=upstream.work)
    git("push", "-q", str(upstream.served), "v1", cwd=upstream.work)
    upstream.commit({"package.json": _package_json("app", {"second": "1"})}, branch="feature")
    upstream.commit({"package.json": _package_json("app", {"third": "1"})})
    settings = _settings(tmp_path)
    with git_daemon(tmp_path / "served") as port:
        source = f"git://127.0.0.1:{port}/app.git"
        for revision, expected in [("feature", {"second"}), ("v1", {"first"}), (first, {"first"}), (None, {"third"})]:
            assert await _index(db_url, settings, source, revision=revision) is None
            assert await _dependencies(db) == expected, revision
        left = await _index(db_url, settings, source, revision="no-such-branch")
    assert left is not None and "no commit 'no-such-branch'" in (left.last_error or "")


async def test_an_unreachable_host_fails_fast_and_is_retried_later(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    with silent_server() as (port, _):
        pass  # the port is closed now: nothing listens
    started = time.monotonic()
    left = await _index(db_url, _settings(tmp_path), f"git://127.0.0.1:{port}/app.git")
    assert time.monotonic() - started < 5
    assert left is not None and left.attempts == 1 and left.claimed_by is None
    assert "git clone failed" in (left.last_error or "") and "unable to connect" in (left.last_error or "")
    assert await db.fetchval("SELECT available_at > now() + interval '30 seconds' FROM repo_index_queue")


async def test_a_silent_server_is_cut_off_at_the_timeout_one_fetch_per_host_at_a_time(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """Two repositories on one host, two workers in one process, one fetch per host allowed:
    the second waits for the first, and each is killed at its timeout, never hung."""
    settings = _settings(tmp_path, timeout=1.0, per_host=1)
    conn = await asyncpg.connect(db_url)
    pool = await create_pool(db_url, min_size=1, max_size=4)
    remotes = Remotes(settings)
    worker = WorkerSettings(poll_seconds=0.01, exit_when_idle=True, remotes=settings)
    try:
        with silent_server() as (port, peak):
            for name in ("a", "b"):
                repo_id = await index_store.ensure_repo(conn, f"example.com/{name}")
                await index_queue.enqueue(conn, repo_id, f"git://127.0.0.1:{port}/{name}.git", None)
            started = time.monotonic()
            await asyncio.gather(*(run_worker(pool, asyncio.Event(), worker, w, remotes) for w in ("w1", "w2")))
            elapsed = time.monotonic() - started
        assert peak[0] == 1, "never two fetches against one host at once"
        assert 2.0 <= elapsed < 6.0
        errors = [row["last_error"] for row in await conn.fetch("SELECT last_error FROM repo_index_queue")]
        assert errors == ["git clone timed out after 1 s"] * 2
    finally:
        await pool.close()
        await conn.close()


async def test_credentials_work_and_never_appear_in_logs_errors_or_the_queue(
    db_url: str, db: asyncpg.Connection, tmp_path: Path, aiohttp_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    upstream = Upstream(tmp_path, "private")
    upstream.commit({"package.json": _package_json("private", {"left-pad": "1"})})
    server = await aiohttp_server(http_backend(tmp_path / "served", credentials="bot:t0ps3cret"), host="127.0.0.1")
    settings = _settings(tmp_path)
    url = f"http://127.0.0.1:{server.port}"
    assert await _index(db_url, settings, f"{url}/private.git", credentials="bot:t0ps3cret") is None
    assert await _dependencies(db) == {"left-pad"}, "the credentials reached the server"

    wrong = await _index(db_url, settings, f"{url}/private.git", uri="example.com/w", credentials="bot:wr0ngs3cret")
    missing = await _index(db_url, settings, f"{url}/none.git", uri="example.com/m", credentials="bot:t0ps3cret")
    for left in (wrong, missing):
        assert left is not None and left.last_error
    stored = " ".join(str(v) for row in await db.fetch("SELECT source, last_error FROM repo_index_queue") for v in row)
    shown = stored + caplog.text
    for secret in ("t0ps3cret", "wr0ngs3cret", "Ym90OnQwcHMzY3JldA"):  # base64 of the header, too
        assert secret not in shown
    assert "could not read Username" in stored, "refused, and git did not prompt for others"
    mirrors = " ".join(p.read_text(errors="replace") for p in settings.mirrors.rglob("config"))
    assert "t0ps3cret" not in mirrors, "no mirror's configuration keeps them"


async def test_a_redirect_to_another_host_is_not_followed(
    db_url: str, db: asyncpg.Connection, tmp_path: Path, aiohttp_server: Server
) -> None:
    upstream = Upstream(tmp_path, "app")
    upstream.commit({"package.json": _package_json("app", {"lodash": "1"})})
    elsewhere_hits: list[str] = []
    elsewhere = await aiohttp_server(http_backend(tmp_path / "served", hits=elsewhere_hits), host="127.0.0.1")
    redirecting = await aiohttp_server(
        http_backend(tmp_path / "served", redirect_to=f"http://localhost:{elsewhere.port}"), host="127.0.0.1"
    )
    left = await _index(db_url, _settings(tmp_path), f"http://127.0.0.1:{redirecting.port}/moved/app.git")
    assert left is not None and "git clone failed" in (left.last_error or "")
    assert elsewhere_hits == [], "git never went to the host it was redirected to"
    assert await _dependencies(db) == set()


async def test_hooks_and_submodules_of_a_repository_are_never_run(
    db_url: str, db: asyncpg.Connection, tmp_path: Path, aiohttp_server: Server
) -> None:
    canary = tmp_path / "canary"
    elsewhere_hits: list[str] = []
    elsewhere = await aiohttp_server(http_backend(tmp_path / "other", hits=elsewhere_hits), host="127.0.0.1")
    upstream = Upstream(tmp_path, "app")
    gitmodules = (
        f'[submodule "lib"]\n\tpath = lib\n\turl = http://127.0.0.1:{elsewhere.port}/lib.git\n'
        f"\tupdate = !touch {canary}\n"
        f'[submodule "local"]\n\tpath = local\n\turl = file://{tmp_path}/secret-repo\n'
    )
    upstream.commit({".gitmodules": gitmodules, "package.json": _package_json("app", {"a": "1"})})
    gitlink = "1" * 40
    git("update-index", "--add", "--cacheinfo", f"160000,{gitlink},lib", cwd=upstream.work)
    git("commit", "-qm", "a submodule", cwd=upstream.work)
    git("push", "-q", str(upstream.served), "HEAD:main", cwd=upstream.work)
    settings = _settings(tmp_path)
    with git_daemon(tmp_path / "served") as port:
        source = f"git://127.0.0.1:{port}/app.git"
        assert await _index(db_url, settings, source) is None
        mirror = settings.mirrors / mirror_name(source)
        hook = mirror / "hooks" / "reference-transaction"  # what a fetch would run, were hooks on
        hook.write_text(f"#!/bin/sh\ntouch {canary}\n")
        hook.chmod(0o755)
        upstream.commit({"package.json": _package_json("app", {"b": "1"})})
        assert await _index(db_url, settings, source) is None
    assert await _dependencies(db) == {"b"}
    assert not canary.exists(), "no hook and no submodule command ran"
    assert elsewhere_hits == [], "no submodule was fetched"
    assert not (mirror / "modules").exists()


async def test_a_damaged_mirror_or_one_of_another_url_is_cloned_again(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    upstream = Upstream(tmp_path, "app")
    upstream.commit({"package.json": _package_json("app", {"lodash": "1"})})
    settings = _settings(tmp_path)
    with git_daemon(tmp_path / "served") as port:
        source = f"git://127.0.0.1:{port}/app.git"
        mirror = settings.mirrors / mirror_name(source)
        mirror.mkdir(parents=True)
        (mirror / "HEAD").write_text("garbage")
        assert await _index(db_url, settings, source) is None
        assert await _dependencies(db) == {"lodash"}

        git("config", "remote.origin.url", f"git://127.0.0.1:{port}/other.git", cwd=mirror)
        upstream.commit({"package.json": _package_json("app", {"react": "1"})})
        assert await _index(db_url, settings, source) is None
        assert await _dependencies(db) == {"react"}
        assert git("config", "remote.origin.url", cwd=mirror) == source


async def test_a_repository_over_the_size_limit_is_stopped_and_its_mirror_removed(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    upstream = Upstream(tmp_path, "app", allow_filter=False)
    upstream.commit({"package.json": _package_json("app", {"a": "1"}), "blob.bin": os.urandom(3 << 20)})
    settings = _settings(tmp_path, max_bytes=1 << 20)
    with git_daemon(tmp_path / "served") as port:
        source = f"git://127.0.0.1:{port}/app.git"
        left = await _index(db_url, settings, source)
    assert left is not None and f"larger than the limit of {1 << 20} bytes" in (left.last_error or "")
    assert not (settings.mirrors / mirror_name(source)).exists()
    assert [p.name for p in settings.mirrors.iterdir() if not p.name.endswith(".lock")] == []


async def test_the_worker_refuses_a_source_off_the_list_whatever_the_queue_says(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    policy = SourcePolicy(schemes=("git",), hosts=("127.0.0.1",))
    for n, source in enumerate(["https://127.0.0.1/app.git", "git://10.0.0.1/app.git", "file:///etc", "ext::sh"]):
        left = await _index(db_url, _settings(tmp_path, policy=policy), source, uri=f"example.com/{n}")
        assert left is not None and (left.last_error or "").startswith("source refused:"), left


def test_git_itself_refuses_a_transport_that_is_not_allowed(tmp_path: Path) -> None:
    """GIT_ALLOW_PROTOCOL and protocol.allow, below our own checks: an `ext::` URL (which runs a
    command) and a `file://` one are refused by git when only git:// is allowed."""
    canary = tmp_path / "canary"
    only_git = Git(timeout=10, protocols=("git",))
    for url in [f"ext::sh -c touch% {canary}", f"file://{tmp_path}"]:
        with pytest.raises(RepositoryError, match=r"transport .* not allowed"):
            only_git.run("ls-remote", "--", url)
    assert not canary.exists()


def test_output_past_its_cap_is_cut_off(tmp_path: Path) -> None:
    upstream = Upstream(tmp_path, "app")
    upstream.commit({"big.txt": "x" * 100_000})
    with pytest.raises(RepositoryError, match="wrote more than 1000 bytes"):
        Git(max_output=1000).run("cat-file", "-p", "HEAD:big.txt", repo=upstream.work)
