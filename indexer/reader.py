"""Reading a repository's manifests: from a directory, or from a git revision without a checkout.

Only files some parser claims are read; vendored and generated trees are skipped; every file is
bounded in size; symbolic links are never followed out of the repository; nothing in the
repository is executed (git is run only as `rev-parse`, `ls-tree` and `cat-file`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from registry.domain.record import Record

SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "third_party",
        ".venv", "venv", "env", ".tox", ".nox", "site-packages", "__pycache__", "target", "dist", "build",
    }
)  # fmt: skip
MAX_FILE_BYTES = 2 * 1024 * 1024


class RepositoryError(RuntimeError):
    """The repository cannot be read (not a directory, not git, unknown revision)."""


class ManifestFile(Record):
    path: str  # POSIX, relative to the repository root
    data: bytes


def _skipped(path: PurePosixPath) -> bool:
    return any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in path.parts[:-1])


class DirectoryRepository:
    """A working tree on disk (any directory; no VCS needed)."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise RepositoryError(f"{root} is not a directory")
        self.root = root.resolve()

    def manifests(self, wanted: Callable[[str], bool]) -> Iterator[ManifestFile]:
        for directory, subdirs, files in os.walk(self.root, followlinks=False):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
            for name in sorted(files):
                relative = (Path(directory) / name).relative_to(self.root).as_posix()
                if wanted(relative):
                    data = self.read(relative)
                    if data is not None:
                        yield ManifestFile(relative, data)

    def read(self, relative: str) -> bytes | None:
        """A file inside the repository, or None (missing, too large, a link leading outside)."""
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        if candidate.stat().st_size > MAX_FILE_BYTES:
            return None
        return candidate.read_bytes()


class GitRepository:
    """A revision of a git repository, read from its object database (no checkout, no hooks)."""

    def __init__(self, root: Path, revision: str = "HEAD") -> None:
        self.root = root
        self.commit = self._git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").decode().strip()
        if not self.commit:
            raise RepositoryError(f"{root}: no commit {revision!r}")
        self._blobs: dict[str, tuple[str, int]] = {}
        listing = self._git("ls-tree", "-r", "-z", "--long", "--full-tree", self.commit)
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, raw_path = entry.partition(b"\t")
            mode, kind, obj, size = meta.split()
            if kind == b"blob" and mode in (b"100644", b"100755") and size != b"-":
                self._blobs[raw_path.decode(errors="surrogateescape")] = (obj.decode(), int(size))

    def _git(self, *args: str, stdin: bytes | None = None) -> bytes:
        try:
            result = subprocess.run(
                ["git", "-C", str(self.root), "-c", "core.fsmonitor=false", *args],
                input=stdin,
                capture_output=True,
                check=False,
                timeout=300,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RepositoryError(f"{self.root}: git failed: {exc}") from exc
        if result.returncode != 0 and args[0] != "rev-parse":
            raise RepositoryError(
                f"{self.root}: git {args[0]} failed: {result.stderr.decode(errors='replace').strip()}"
            )
        return result.stdout

    def _cat(self, objects: list[str]) -> list[bytes]:
        """Many blobs in one `git cat-file --batch` run."""
        output = self._git("cat-file", "--batch", stdin="".join(f"{obj}\n" for obj in objects).encode())
        contents = []
        position = 0
        for _ in objects:
            header_end = output.index(b"\n", position)
            size = int(output[position:header_end].split()[2])
            contents.append(output[header_end + 1 : header_end + 1 + size])
            position = header_end + 1 + size + 1
        return contents

    def manifests(self, wanted: Callable[[str], bool]) -> Iterator[ManifestFile]:
        chosen = [
            (path, obj)
            for path, (obj, size) in sorted(self._blobs.items())
            if size <= MAX_FILE_BYTES and not _skipped(PurePosixPath(path)) and wanted(path)
        ]
        if not chosen:
            return
        for (path, _), data in zip(chosen, self._cat([obj for _, obj in chosen]), strict=True):
            yield ManifestFile(path, data)

    def read(self, relative: str) -> bytes | None:
        normal = PurePosixPath(os.path.normpath(relative)).as_posix()
        found = self._blobs.get(normal)
        if found is None or found[1] > MAX_FILE_BYTES:
            return None
        return self._cat([found[0]])[0]


Repository = DirectoryRepository | GitRepository


def open_repository(root: Path, revision: str | None) -> Repository:
    """The git revision asked for, read from the object database; without one, the directory as
    it is on disk (a working tree included)."""
    if revision is not None:
        return GitRepository(root, revision)
    return DirectoryRepository(root)
