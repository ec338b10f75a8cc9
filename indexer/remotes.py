"""Repositories fetched from git remotes: one bare mirror per repository, fetched incrementally.

A worker keeps, under its mirror directory, one bare repository per remote URL, named by a hash
of the normalised URL (never by user text, so no source can name a path). The first index
clones it (`--filter=blob:none` — a server that does not take filters answers with a full clone,
which git falls back to by itself); later ones fetch with `--prune` and forced refspecs, so a
force-pushed branch or a moved tag reads as the remote has it now, and a deleted branch goes.
The remote's default branch is fetched as `refs/wharf/head`, the revision read when none is
asked for. Manifests are then read as from any git revision (`reader.GitRepository`), their
blobs fetched on demand in one request.

Bounds: every git process has `WHARF_GIT_TIMEOUT` and is killed with its process group after
it; the mirror may not grow past `WHARF_GIT_MAX_BYTES` (measured while git writes: a clone or
fetch that crosses it is killed and the mirror deleted); at most `WHARF_GIT_PER_HOST` fetches
run against one host at a time in this process (N worker processes: N times that, as nothing
outside a process coordinates them); a mirror is used by one job at a time, across processes
of one host too (an `flock` beside it).

The source is checked again against the operator's policy before git runs, whatever the queue
says: the API checked it when it was queued, but the queue may have been written otherwise,
or the policy tightened since.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import platformdirs

from indexer.git import Git, GitTooLarge, RepositoryError
from indexer.reader import GitRepository, Repository, open_repository
from indexer.scan import Scan, ScanLimits, scan
from registry.domain.record import Record
from registry.git_sources import GitSource, SourcePolicy, SourceRefused, basic_credentials, redact, secrets_of

log = logging.getLogger("wharf.indexer.remotes")

HEAD_REF = "refs/wharf/head"  # the remote's HEAD (its default branch) as of the last fetch
REFSPECS = ("+HEAD:" + HEAD_REF, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


class RemoteSettings(Record):
    """What a worker needs to read sources: the operator's policy and the git bounds."""

    policy: SourcePolicy = SourcePolicy()
    mirror_dir: Path | None = None  # None: the user's cache directory (platformdirs)/git-mirrors
    timeout: float = 300.0
    max_bytes: int = 1 << 30
    per_host: int = 4
    limits: ScanLimits = ScanLimits()  # how much of a repository's lockfiles is taken

    @property
    def mirrors(self) -> Path:
        return self.mirror_dir or platformdirs.user_cache_path("wharf") / "git-mirrors"


def mirror_name(url: str) -> str:
    """A mirror's directory name: a hash of the normalised URL, so no source text names a path."""
    return hashlib.sha256(url.encode()).hexdigest()[:40] + ".git"


class Remotes:
    """The sources one worker process reads: their mirrors, and how many fetches each host has."""

    def __init__(self, settings: RemoteSettings) -> None:
        self.settings = settings
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def read_and_scan(
        self, source: str, credentials: str | None, revision: str | None
    ) -> tuple[Scan, str | None]:
        """Scan the source at `revision`; returns the scan and the commit read (for a local
        directory without a revision, None). RepositoryError, redacted, on any failure."""
        secrets = secrets_of(credentials)
        try:
            checked = self.settings.policy.check(source)
        except SourceRefused as refused:
            raise RepositoryError(redact(f"source refused: {refused}", secrets)) from None
        if checked.path is not None:
            return await asyncio.to_thread(_scan_local, Path(checked.path), revision, self.settings.limits)
        host = checked.host or ""
        slot = self._hosts.setdefault(host, asyncio.Semaphore(self.settings.per_host))
        async with slot:
            return await asyncio.to_thread(self._mirror_and_scan, checked, credentials, revision)

    def _mirror_and_scan(self, source: GitSource, credentials: str | None, revision: str | None) -> tuple[Scan, str]:
        git = self._git_for(source, credentials)
        mirror = self.settings.mirrors / mirror_name(source.url or "")
        with _locked(mirror.with_suffix(".lock"), self.settings.timeout):
            self._sync(git, source, mirror)
            try:
                repository = GitRepository(
                    mirror,
                    revision or HEAD_REF,
                    git,
                    bare=True,
                    fetch_missing=lambda objs: self._fetch(git, mirror, objs),
                )
                return scan(repository, self.settings.limits), repository.commit
            except GitTooLarge:
                _remove(mirror)
                raise

    def _git_for(self, source: GitSource, credentials: str | None) -> Git:
        """git for this source: its scheme's transport only, and the credentials as an
        Authorization header scoped to its URL, given through the environment."""
        secret_config: tuple[tuple[str, str], ...] = ()
        secrets = secrets_of(credentials)
        if credentials and source.url:
            user, password = basic_credentials(credentials)
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            secret_config = ((f"http.{source.url}.extraHeader", f"Authorization: Basic {token}"),)
            secrets += (token,)
        return Git(
            timeout=self.settings.timeout,
            protocols=(source.scheme,),
            secret_config=secret_config,
            secrets=secrets,
        )

    def _sync(self, git: Git, source: GitSource, mirror: Path) -> None:
        """Clone the mirror if there is none (or it is not a mirror of this URL), then fetch."""
        url = source.url or ""
        if mirror.exists() and not _is_mirror_of(git, mirror, url):
            log.warning("mirror %s is damaged or of another URL: cloning it again", mirror.name)
            _remove(mirror)
        if not mirror.exists():
            self._clone(git, url, mirror)
        try:
            git.run(
                "fetch", "--prune", "--no-tags", "--recurse-submodules=no", "--no-write-fetch-head", "--quiet",
                "--", "origin", *REFSPECS,
                git_dir=mirror, watch=mirror, max_bytes=self.settings.max_bytes,
            )  # fmt: skip
        except GitTooLarge:
            _remove(mirror)
            raise

    def _clone(self, git: Git, url: str, mirror: Path) -> None:
        """A new bare, blobless mirror, cloned beside its place and renamed into it once whole: a
        clone cut short never leaves something that looks like a mirror."""
        mirror.parent.mkdir(parents=True, exist_ok=True)
        partial = mirror.with_name(f".{mirror.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            git.run(
                "clone", "--bare", "--filter=blob:none", "--no-tags", "--quiet", "--", url, str(partial),
                watch=partial, max_bytes=self.settings.max_bytes,
            )  # fmt: skip
            os.rename(partial, mirror)
        finally:
            _remove(partial)

    def _fetch(self, git: Git, mirror: Path, objects: list[str]) -> None:
        """The blobs a partial clone lacks, in one request (as git's own lazy fetch asks, but for
        all of them at once rather than one by one)."""
        git.run(
            "-c", "fetch.negotiationAlgorithm=noop", "fetch", "--no-tags", "--no-write-fetch-head",
            "--recurse-submodules=no", "--filter=blob:none", "--quiet", "--stdin", "origin",
            git_dir=mirror, stdin="".join(f"{obj}\n" for obj in objects).encode(),
            watch=mirror, max_bytes=self.settings.max_bytes,
        )  # fmt: skip


def _scan_local(root: Path, revision: str | None, limits: ScanLimits) -> tuple[Scan, str | None]:
    """A local path (allowed by the operator): read in place, as `indexer index PATH` does."""
    repository: Repository = open_repository(root, revision)
    return scan(repository, limits), getattr(repository, "commit", revision)


def _is_mirror_of(git: Git, mirror: Path, url: str) -> bool:
    """Whether `mirror` is a bare repository whose origin is `url` (else: damaged, or a hash
    shared with another URL, and cloned again)."""
    try:
        bare = git.run("rev-parse", "--is-bare-repository", git_dir=mirror).decode().strip()
        origin = git.run("config", "--get", "remote.origin.url", git_dir=mirror).decode().strip()
    except RepositoryError:
        return False
    return bare == "true" and origin == url


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _locked(lock_path: Path, timeout: float) -> Iterator[None]:
    """An exclusive flock on `lock_path`: one job per mirror across the processes of a host."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(lock_path, "a+b") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    raise RepositoryError("the repository's mirror is busy (another worker holds it)") from exc
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
