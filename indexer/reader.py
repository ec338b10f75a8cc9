"""Reading a repository's manifests: from a directory, or from a git revision without a checkout.

Only files some parser claims are read; vendored and generated trees are skipped; every file is
bounded in size; symbolic links are never followed out of the repository; nothing in the
repository is executed (git is run only as `rev-parse`, `ls-tree`, `rev-list` and `cat-file`,
through `indexer.git.Git`, which bounds and isolates every run).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from indexer.git import Git, RepositoryError
from registry.domain.record import Record

SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", "vendor", "third_party",
        ".venv", "venv", "env", ".tox", ".nox", "site-packages", "__pycache__", "target", "dist", "build",
    }
)  # fmt: skip
MAX_FILE_BYTES = 2 * 1024 * 1024


class ManifestFile(Record):
    path: str  # POSIX, relative to the repository root
    data: bytes
    oversized: int = 0  # the file's size when it is past its limit (and `data` is empty)


SizeLimit = Callable[[str], int]
"""A wanted file's size bound, by its path (lockfiles may be allowed more than manifests)."""


def _skipped(path: PurePosixPath) -> bool:
    return any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in path.parts[:-1])


class DirectoryRepository:
    """A working tree on disk (any directory; no VCS needed)."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise RepositoryError(f"{root} is not a directory")
        self.root = root.resolve()

    def manifests(self, wanted: Callable[[str], bool], limit: SizeLimit | None = None) -> Iterator[ManifestFile]:
        """The wanted files, in path order. With `limit`, a file past its bound is yielded empty
        with `oversized` set, for the caller to report; without, files past MAX_FILE_BYTES are
        left out."""
        for directory, subdirs, files in os.walk(self.root, followlinks=False):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
            for name in sorted(files):
                relative = (Path(directory) / name).relative_to(self.root).as_posix()
                if wanted(relative):
                    bound = limit(relative) if limit is not None else MAX_FILE_BYTES
                    candidate = self._inside(relative)
                    if candidate is None:
                        continue
                    size = candidate.stat().st_size
                    if size <= bound:
                        yield ManifestFile(relative, candidate.read_bytes())
                    elif limit is not None:
                        yield ManifestFile(relative, b"", oversized=size)

    def _inside(self, relative: str) -> Path | None:
        """The regular file at `relative`, unless it is missing or a link leading outside."""
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    def read(self, relative: str) -> bytes | None:
        """A file inside the repository, or None (missing, too large, a link leading outside)."""
        candidate = self._inside(relative)
        if candidate is None or candidate.stat().st_size > MAX_FILE_BYTES:
            return None
        return candidate.read_bytes()


class GitRepository:
    """A revision of a git repository, read from its object database (no checkout, no hooks).

    Sizes are asked of the blobs some parser wants, not listed with the tree: in a partial clone
    (`--filter=blob:none`) a size is only known once the blob is there, and `ls-tree --long`
    would fetch every blob of the tree one by one. `fetch_missing`, given for such a clone,
    fetches the wanted blobs that are not there yet in one request.
    """

    def __init__(
        self,
        root: Path,
        revision: str = "HEAD",
        git: Git | None = None,
        *,
        bare: bool = False,
        fetch_missing: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.root = root
        self.git = git or Git()
        self._bare = bare
        self._fetch_missing = fetch_missing
        if not revision or revision.startswith("-"):
            raise RepositoryError(f"{root}: {revision!r} is not a revision")
        found = self._git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", ok=(0, 1))
        self.commit = found.decode().strip()
        if not self.commit:
            raise RepositoryError(f"{root}: no commit {revision!r}")
        self._blobs: dict[str, str] = {}
        self._sizes: dict[str, int] = {}
        self._absent: set[str] | None = None
        for entry in self._git("ls-tree", "-r", "-z", "--full-tree", self.commit).split(b"\0"):
            if not entry:
                continue
            meta, _, raw_path = entry.partition(b"\t")
            mode, kind, obj = meta.split()
            if kind == b"blob" and mode in (b"100644", b"100755"):
                self._blobs[raw_path.decode(errors="surrogateescape")] = obj.decode()

    def _git(self, *args: str, stdin: bytes | None = None, ok: tuple[int, ...] = (0,)) -> bytes:
        if self._bare:
            return self.git.run(*args, git_dir=self.root, stdin=stdin, ok_codes=ok)
        return self.git.run(*args, repo=self.root, stdin=stdin, ok_codes=ok)

    def _missing(self, objects: list[str]) -> list[str]:
        """Which of `objects` a partial clone has not fetched yet: the tree's absent blobs are
        listed once (without fetching them), then forgotten as they are fetched."""
        if self._absent is None:
            listing = self._git("rev-list", "--objects", "--no-walk", "--missing=print", self.commit)
            self._absent = {line[1:] for line in listing.decode().splitlines() if line.startswith("?")}
        missing = [obj for obj in objects if obj in self._absent]
        self._absent.difference_update(missing)
        return missing

    def _sized(self, objects: list[str]) -> dict[str, int]:
        """Each object's size, fetching the missing ones first (in one request) in a partial clone."""
        unknown = sorted({obj for obj in objects if obj not in self._sizes})
        if unknown and self._fetch_missing is not None:
            missing = self._missing(unknown)
            if missing:
                self._fetch_missing(missing)
        if unknown:
            output = self._git("cat-file", "--batch-check", stdin="".join(f"{obj}\n" for obj in unknown).encode())
            for line in output.decode().splitlines():
                obj, kind, size = [*line.split(), "", ""][:3]
                if kind == "blob":
                    self._sizes[obj] = int(size)
        return {obj: self._sizes[obj] for obj in objects if obj in self._sizes}

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

    def manifests(self, wanted: Callable[[str], bool], limit: SizeLimit | None = None) -> Iterator[ManifestFile]:
        """As DirectoryRepository.manifests, in path order too; the files past their bound come first."""
        candidates = [
            (path, obj)
            for path, obj in sorted(self._blobs.items())
            if not _skipped(PurePosixPath(path)) and wanted(path)
        ]
        sizes = self._sized([obj for _, obj in candidates])
        chosen = []
        for path, obj in candidates:
            size = sizes.get(obj)
            if size is not None and size <= (limit(path) if limit is not None else MAX_FILE_BYTES):
                chosen.append((path, obj))
            elif size is not None and limit is not None:
                yield ManifestFile(path, b"", oversized=size)
        if not chosen:
            return
        for (path, _), data in zip(chosen, self._cat([obj for _, obj in chosen]), strict=True):
            yield ManifestFile(path, data)

    def read(self, relative: str) -> bytes | None:
        normal = PurePosixPath(os.path.normpath(relative)).as_posix()
        found = self._blobs.get(normal)
        if found is None or self._sized([found]).get(found, MAX_FILE_BYTES + 1) > MAX_FILE_BYTES:
            return None
        return self._cat([found])[0]


Repository = DirectoryRepository | GitRepository


def open_repository(root: Path, revision: str | None) -> Repository:
    """The git revision asked for, read from the object database; without one, the directory as
    it is on disk (a working tree included)."""
    if revision is not None:
        return GitRepository(root, revision)
    return DirectoryRepository(root)
