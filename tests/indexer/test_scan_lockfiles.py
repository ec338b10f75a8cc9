"""The scan on hostile lockfiles: each is a Problem on its own file — refused, or its unstorable rows
dropped — and never a failed repository; the bounds on bytes and rows hold and say which lock
they refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import asyncpg

from indexer.reader import DirectoryRepository
from indexer.remotes import RemoteSettings
from indexer.scan import Scan, ScanLimits, scan
from registry.git_sources import SourcePolicy
from testkit.locks import chain_lock
from tests.indexer.test_resolved_indexing import LOCKS, monorepo, work_the_queue

GO_MOD = "module example.com/app\n\ngo 1.22\n\nrequire github.com/pkg/errors v0.9.1\n"


def _npm_lock(*names: str) -> str:
    """A package-lock.json v3 whose root depends directly on each of `names` at 1.0.0."""
    packages = {"": {"dependencies": dict.fromkeys(names, "1")}}
    packages.update({f"node_modules/{name}": {"version": "1.0.0"} for name in names})
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages})


def _nested_v1_lock(levels: int) -> str:
    deps: dict[str, object] = {}
    inner = deps
    for level in range(levels):
        child: dict[str, object] = {}
        inner[f"p{level}"] = {"version": "1.0.0", "dependencies": child}
        inner = child
    return json.dumps({"lockfileVersion": 1, "dependencies": deps})


def _repository(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def _scan(root: Path, limits: ScanLimits | None = None) -> Scan:
    return scan(DirectoryRepository(root), limits)


def _resolved(result: Scan) -> set[tuple[str, str, str]]:
    return {(language, row.package, row.path) for language, row in result.resolved}


def _problems(result: Scan) -> dict[str, str]:
    return {problem.path: problem.message for problem in result.problems}


HOSTILE: dict[str, str | bytes] = {
    "go.mod": GO_MOD,  # a sound lock beside the hostile ones
    "nul/package-lock.json": _npm_lock("left-pad", "evil\0pad"),
    "surrogate/package-lock.json": _npm_lock("right-pad", "sur\ud800rogate"),
    "long/package-lock.json": _npm_lock("center-pad", "x" * 600),
    "nested/package-lock.json": _nested_v1_lock(300),
    "garbage/poetry.lock": b"\xff\xfe[[package]\0\0" * 50,
    "yaml/pnpm-lock.yaml": "lockfileVersion: '9.0'\nimporters: [unclosed\n",
}


def test_hostile_lockfiles_are_problems_and_the_rest_is_indexed(tmp_path: Path) -> None:
    result = _scan(_repository(tmp_path, HOSTILE))
    assert _resolved(result) == {
        ("go", "github.com/pkg/errors", "go.mod"),
        ("npm", "left-pad", "nul/package-lock.json"),
        ("npm", "right-pad", "surrogate/package-lock.json"),
        ("npm", "center-pad", "long/package-lock.json"),
    }
    problems = _problems(result)
    assert set(problems) == set(HOSTILE) - {"go.mod"}
    assert "dropped 1 resolved dependencies" in problems["nul/package-lock.json"]
    assert "NUL or a lone surrogate" in problems["nul/package-lock.json"]
    assert "NUL or a lone surrogate" in problems["surrogate/package-lock.json"]
    assert "a package name of 600 characters" in problems["long/package-lock.json"]
    for refused in ("nested/package-lock.json", "garbage/poetry.lock", "yaml/pnpm-lock.yaml"):
        assert refused in problems[refused], "a refusal names the file"


async def test_the_worker_indexes_a_repository_of_hostile_lockfiles(
    db_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    """No row PostgreSQL refuses reaches the COPY: the revision is written, the queue entry done."""
    assert await work_the_queue(db_url, str(_repository(tmp_path / "repo", HOSTILE)), "example.com/hostile") is None
    stored = await db.fetch("SELECT package FROM resolved_dep ORDER BY package")
    assert [row["package"] for row in stored] == ["center-pad", "github.com/pkg/errors", "left-pad", "right-pad"]


def test_a_lockfile_over_the_byte_limit_is_refused_and_reported(tmp_path: Path) -> None:
    root = _repository(tmp_path, {"go.mod": GO_MOD, "Cargo.lock": (LOCKS / "rust/sharkdp__fd/Cargo.lock").read_bytes()})
    result = _scan(root, ScanLimits(max_lockfile_bytes=4096))
    assert _resolved(result) == {("go", "github.com/pkg/errors", "go.mod")}
    assert _problems(result) == {"Cargo.lock": "26055 bytes, over the limit of 4096 bytes"}


def test_a_lockfile_with_more_rows_than_allowed_is_refused_whole(tmp_path: Path) -> None:
    """Part of a lock would quietly miss packages: a lock past the bound gives none."""
    root = _repository(tmp_path, {"package-lock.json": chain_lock(1000), "go.mod": GO_MOD})
    result = _scan(root, ScanLimits(max_resolved_per_lockfile=999))
    assert _resolved(result) == {("go", "github.com/pkg/errors", "go.mod")}
    assert _problems(result) == {"package-lock.json": "1000 resolved dependencies, over the limit of 999 per lockfile"}


def test_the_repository_bound_takes_lockfiles_in_path_order_and_refuses_the_one_past_it(tmp_path: Path) -> None:
    """Cargo.lock (52 rows), docs/poetry.lock (49), web/package-lock.json (292): with room for
    120, the first two are taken and the third is refused, by name."""
    result = _scan(monorepo(tmp_path / "repo"), ScanLimits(max_resolved_per_repo=120))
    assert {path for _, _, path in _resolved(result)} == {"Cargo.lock", "docs/poetry.lock"}
    assert len(result.resolved) == 101
    assert _problems(result) == {
        "web/package-lock.json": "292 resolved dependencies would pass the limit of 120 per repository "
        "(101 taken from the lockfiles before it)"
    }


def test_a_deep_chain_within_the_bounds_is_indexed_without_recursion(tmp_path: Path) -> None:
    result = _scan(_repository(tmp_path, {"package-lock.json": chain_lock(5000)}))
    assert len(result.resolved) == 5000 and not result.problems
    assert max(row.depth for _, row in result.resolved) == 5000


async def test_the_workers_bounds_come_from_its_settings(db_url: str, db: asyncpg.Connection, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(LOCKS / "rust" / "sharkdp__fd", repo)
    remotes = RemoteSettings(policy=SourcePolicy(allow_local=True), limits=ScanLimits(max_resolved_per_lockfile=100))
    assert await work_the_queue(db_url, str(repo), "example.com/fd", remotes) is None
    assert await db.fetchval("SELECT count(*) FROM resolved_dep") == 0  # 110 rows: refused
    assert await db.fetchval("SELECT count(*) FROM global_dep") > 0  # its manifest still indexed
