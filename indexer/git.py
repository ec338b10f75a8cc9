"""Running git on repositories Wharf does not trust: bounded, isolated, and quiet about secrets.

Every git process the indexer starts goes through `Git.run`, so each rule holds everywhere:

- an argument list, never a shell; user-provided values after `--` or `--end-of-options`;
- a clean environment: none of the operator's `GIT_*` variables (a stray `GIT_DIR` would aim git
  elsewhere), no system or global config (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`:
  no `url.insteadOf` rewriting, no credential helper), no prompt (`GIT_TERMINAL_PROMPT=0`,
  ssh in BatchMode);
- only the allowed transports: `GIT_ALLOW_PROTOCOL` and `protocol.allow=never` with
  `protocol.<name>.allow=always` for each allowed one (git-config(1): the environment variable
  wins; both are set so neither alone is relied on);
- nothing from a repository executed: `core.hooksPath=/dev/null`, no submodule recursion, no
  fsmonitor, no automatic gc or maintenance (which would also outlive the process group);
- no redirects (`http.followRedirects=false`): a server cannot send the fetch to a host off the
  allow-list;
- a deadline per process, after which its whole process group (ssh, remote helpers,
  index-pack) is killed; a cap on what it writes to stdout, and optionally on the size of a
  directory it writes into (a repository that grows past the cap is stopped mid-download);
- secrets (an `Authorization` header for https) passed as `GIT_CONFIG_*` variables, never as
  arguments (which any local user can read in /proc), and redacted from every message.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from registry.domain.record import Record
from registry.git_sources import redact

MAX_STDERR = 4096  # characters of git's complaint kept for an error message
_POLL_SECONDS = 0.1
_WATCH_SECONDS = 0.25  # how often a watched directory is measured (a walk of the mirror)
_KEPT_ENVIRONMENT = ("PATH", "HOME", "SSH_AUTH_SOCK", "TMPDIR")


class RepositoryError(RuntimeError):
    """The repository cannot be read (not a directory, not git, unknown revision, git failed)."""


class GitTooLarge(RepositoryError):
    """A repository grew past its size limit while git was writing it."""


def directory_bytes(root: Path) -> int:
    """Bytes of the files under `root` (0 when it does not exist); links are not followed."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except FileNotFoundError:  # a temporary file git has just renamed
                continue
    return total


class Git(Record):
    """How git is run: its time limit, its output limit, the transports it may use, and the
    configuration given to it through the environment (secrets included)."""

    timeout: float = 300.0
    max_output: int = 256 * 1024 * 1024
    protocols: tuple[str, ...] = ()
    secret_config: tuple[tuple[str, str], ...] = ()
    secrets: tuple[str, ...] = ()

    def options(self) -> list[str]:
        allowed = [f"protocol.{name}.allow=always" for name in self.protocols]
        settings = [
            "core.hooksPath=/dev/null", "core.fsmonitor=false", "protocol.allow=never", *allowed,
            "http.followRedirects=false", "submodule.recurse=false", "fetch.recurseSubmodules=false",
            "gc.auto=0", "maintenance.auto=false", "fetch.writeCommitGraph=false", "credential.helper=",
            "core.askPass=", "advice.detachedHead=false",
        ]  # fmt: skip
        return [part for setting in settings for part in ("-c", setting)]

    def environment(self) -> dict[str, str]:
        env = {name: os.environ[name] for name in _KEPT_ENVIRONMENT if name in os.environ}
        env.update(
            LC_ALL="C",
            GIT_TERMINAL_PROMPT="0",
            GIT_ASKPASS="",
            SSH_ASKPASS="",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL="/dev/null",
            GIT_ALLOW_PROTOCOL=":".join(self.protocols) or "none",
            GIT_SSH_COMMAND=os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            GIT_CONFIG_COUNT=str(len(self.secret_config)),
        )
        for n, (key, value) in enumerate(self.secret_config):
            env[f"GIT_CONFIG_KEY_{n}"] = key
            env[f"GIT_CONFIG_VALUE_{n}"] = value
        return env

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def run(
        self,
        *args: str,
        git_dir: Path | None = None,
        repo: Path | None = None,
        stdin: bytes | None = None,
        watch: Path | None = None,
        max_bytes: int | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> bytes:
        """git's stdout; RepositoryError (redacted) on failure, expiry or an exceeded limit. `git_dir`
        names a repository exactly (no discovery upwards); `repo` a directory git starts in."""
        name = next((arg for arg in args if not arg.startswith("-") and "=" not in arg), "")
        place = ["--git-dir", str(git_dir)] if git_dir else ["-C", str(repo)] if repo else []
        argv = ["git", *self.options(), *place, *args]
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.environment(),
                start_new_session=True,  # its own process group, killed as one
            )
        except OSError as exc:
            raise RepositoryError(f"git could not be started: {exc}") from exc
        try:
            stdout, stderr = self._communicate(process, name, stdin, started, watch, max_bytes)
            while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
                if time.monotonic() - started > self.timeout:  # exited, or not: not reaped yet
                    raise RepositoryError(f"git {name} timed out after {self.timeout:g} s")
                time.sleep(0.005)
        finally:
            _kill_group(process)  # whatever it left running; its pid cannot be reused before wait()
            process.wait()
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
        if watch is not None and max_bytes is not None and directory_bytes(watch) > max_bytes:
            raise GitTooLarge(f"the repository is larger than the limit of {max_bytes} bytes")  # a quick one, too
        if process.returncode not in ok_codes:
            complaint = self.redact(stderr.decode(errors="replace").strip()[-MAX_STDERR:])
            raise RepositoryError(f"git {name} failed (exit {process.returncode}): {complaint}")
        return stdout

    def _communicate(
        self,
        process: subprocess.Popen[bytes],
        name: str,
        stdin: bytes | None,
        started: float,
        watch: Path | None,
        max_bytes: int | None,
    ) -> tuple[bytes, bytes]:
        """Feed stdin and drain stdout and stderr together (as `communicate` does), checking the
        deadline and the limits between reads rather than trusting git to finish."""
        if process.stdout is None or process.stderr is None:
            raise RepositoryError("git's output is not connected")
        out, err = bytearray(), bytearray()
        pending = memoryview(stdin or b"")
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ, out)
            selector.register(process.stderr, selectors.EVENT_READ, err)
            if process.stdin is not None:
                os.set_blocking(process.stdin.fileno(), False)
                selector.register(process.stdin, selectors.EVENT_WRITE, None)
            last_check = started
            while selector.get_map():
                now = time.monotonic()
                if now - started > self.timeout:
                    raise RepositoryError(f"git {name} timed out after {self.timeout:g} s")
                if watch is not None and max_bytes is not None and now - last_check >= _WATCH_SECONDS:
                    last_check = now
                    if directory_bytes(watch) > max_bytes:
                        raise GitTooLarge(f"the repository is larger than the limit of {max_bytes} bytes")
                for key, _ in selector.select(timeout=_POLL_SECONDS):
                    if key.data is None:
                        pending = _feed(selector, process, pending)
                        continue
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    key.data.extend(chunk)
                    if len(out) > self.max_output:
                        raise RepositoryError(f"git {name} wrote more than {self.max_output} bytes")
                    if len(err) > 4 * MAX_STDERR:
                        del err[: len(err) - MAX_STDERR]
        return bytes(out), bytes(err)


def _feed(selector: selectors.BaseSelector, process: subprocess.Popen[bytes], pending: memoryview) -> memoryview:
    """Write what the pipe takes now of `pending` to git's stdin; close it when all is written."""
    stream = process.stdin
    if stream is None:
        return memoryview(b"")
    try:
        written = os.write(stream.fileno(), pending[:65536])
    except BrokenPipeError:  # git stopped reading: its exit code says why
        written = len(pending)
    pending = pending[written:]
    if not pending:
        selector.unregister(stream)
        stream.close()
    return pending


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
