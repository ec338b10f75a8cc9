"""Reading repositories: directories and git revisions, never a checkout, never outside."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from indexer.git import RepositoryError
from indexer.reader import MAX_FILE_BYTES, DirectoryRepository, GitRepository, open_repository

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def _wanted(path: str) -> bool:
    return path.endswith(("package.json", "go.mod"))


def _write(root: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def test_a_directory_yields_manifests_and_skips_vendored_trees(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "package.json": b"{}",
            "packages/a/package.json": b"{}",
            "node_modules/x/package.json": b"{}",
            "vendor/y/go.mod": b"module y",
            ".venv/lib/package.json": b"{}",
            "src/main.js": b"",
            "big/package.json": b" " * (MAX_FILE_BYTES + 1),
        },
    )
    found = [m.path for m in DirectoryRepository(tmp_path).manifests(_wanted)]
    assert found == ["package.json", "packages/a/package.json"]


def test_links_never_lead_outside_the_repository(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_bytes(b"password")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").symlink_to(outside)
    reader = DirectoryRepository(repo)
    assert list(reader.manifests(_wanted)) == []
    assert reader.read("../secret") is None
    assert reader.read("package.json") is None


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout


def test_a_git_revision_is_read_from_the_object_database(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    _write(tmp_path, {"package.json": b'{"name": "v1"}', "node_modules/z/package.json": b"{}"})
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "one")
    first = _git(tmp_path, "rev-parse", "HEAD").strip()
    _write(tmp_path, {"package.json": b'{"name": "v2"}', "sub/go.mod": b"module sub"})
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "two")
    (tmp_path / "package.json").write_bytes(b'{"name": "uncommitted"}')

    old = GitRepository(tmp_path, first)
    assert old.commit == first
    assert [(m.path, m.data) for m in old.manifests(_wanted)] == [("package.json", b'{"name": "v1"}')]
    head = open_repository(tmp_path, "HEAD")
    assert [m.path for m in head.manifests(_wanted)] == ["package.json", "sub/go.mod"]
    assert head.read("package.json") == b'{"name": "v2"}', "the revision, not the working tree"
    assert head.read("sub/../package.json") == b'{"name": "v2"}'
    assert head.read("missing.json") is None
    assert (tmp_path / "package.json").read_bytes() == b'{"name": "uncommitted"}', "no checkout happened"


def test_unknown_revisions_and_non_repositories_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError):
        GitRepository(tmp_path, "HEAD")
    with pytest.raises(RepositoryError):
        DirectoryRepository(tmp_path / "missing")
