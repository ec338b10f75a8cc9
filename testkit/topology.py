"""Many nodes, one truth, on one machine: a PostgreSQL primary, a streaming standby made the way an
operator makes one (`pg_basebackup -R`), and N `registry serve` processes on loopback ports, each
with DATABASE_URL = the primary and DATABASE_READ_URL = the standby.

The suite (tests/topology/) and the benchmark (bench/bench_nodes.py) both run on it. It uses the
embedded PostgreSQL binaries the suite already has, never DATABASE_URL's server: a standby needs a
cluster of its own to copy, and the test must be able to stop it. Everything lives in one temporary
directory and on free loopback ports. Each PostgreSQL and each node is started in a session of its
own, so that stopping it can end its whole process group (the postmaster's backends, a node's
parser workers) and nothing outlives the topology. As root, PostgreSQL runs as the embedded
server's system user (it refuses root; see registry/db/embedded.py).

Control is synchronous and goes through the command-line tools (`pg_isready`, `psql`), so that a
test may call it from a coroutine as well as from a plain function without nesting event loops.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.db.embedded import server_binaries
from testkit.processes import REPO_ROOT, command_env, free_port, http_get, run_cli

DATABASE = "wharf"
PASSWORD = "topology password"  # noqa: S105 (throwaway users on a throwaway cluster)

_SERVER_OPTIONS = (
    "listen_addresses=127.0.0.1",
    "unix_socket_directories=",  # TCP on loopback only: no socket file to place or clean up
    "wal_level=replica",
    "max_wal_senders=10",
    "wal_keep_size=256MB",  # a standby stopped by a test catches up from the primary's pg_wal
    "hot_standby=on",
    "max_connections=200",  # 3 nodes x (primary pool + replica pool + listener) + the tests
    "fsync=off",  # test speed: nothing here must survive a crash of the machine
    "full_page_writes=off",
    "wal_receiver_status_interval=1s",  # pg_stat_replication's replay_lag is fresh within a second
    "log_min_messages=warning",
)

NODE_ENV = {
    "WHARF_ACCESS_LOG": "false",
    "WHARF_LOG_LEVEL": "WARNING",
    "WHARF_BCRYPT_COST": "4",
    "WHARF_PARSER_PROCESSES": "1",
    "WHARF_POOL_MAX_SIZE": "8",
    "WHARF_DOWNLOADS_FLUSH_SECONDS": "0.2",
    "WHARF_DOWNLOAD_COUNT_WINDOW": "0",
    "WHARF_TRUSTED_PROXIES": "127.0.0.1",  # the tests play the load balancer: X-Forwarded-For
    "WHARF_SIGNUPS_PER_ADDRESS": "100000",
}
"""What every node of the topology runs with, unless the caller overrides it."""


def _kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _end(process: subprocess.Popen[bytes], first: int, timeout: float) -> None:
    """Send `first` to the leader, wait for it, then SIGKILL whatever is left of its group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    _kill_group(process, signal.SIGKILL)
    process.wait()


@dataclass
class Postgres:
    """One PostgreSQL cluster of the topology, run by `postgres -D` in a session of its own."""

    name: str
    pgdata: Path
    bin_dir: Path
    user: str | None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def log_path(self) -> Path:
        return self.pgdata.parent / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def run(self, program: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """A server binary as the server's user; fails with its output."""
        result = subprocess.run(
            [str(self.bin_dir / program), *args],
            user=self.user,
            cwd=self.pgdata.parent,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def sql(self, query: str, database: str = DATABASE) -> list[list[str]]:
        """Rows of one statement, through psql (`|`-separated text, no headers)."""
        out = self.run(
            "psql", "-X", "-q", "-A", "-t", "-F", "|", "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", "-d", database, "-c", query, timeout=30,
        ).stdout  # fmt: skip
        return [line.split("|") for line in out.splitlines() if line]

    def start(self, timeout: float = 30) -> None:
        options = [arg for option in (*_SERVER_OPTIONS, f"port={self.port}") for arg in ("-c", option)]
        with self.log_path.open("ab") as sink:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", str(self.pgdata), *options],
                user=self.user,
                cwd=self.pgdata.parent,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            ready = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not accept connections within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """A fast shutdown (SIGINT: sessions are ended, nothing is lost), its group killed after."""
        if self.process is not None:
            _end(self.process, signal.SIGINT, 30)
            self.process = None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@dataclass
class Node:
    """One `registry serve` process; its output goes to a file so a chatty node never blocks."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Node:
        with self.log_path.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "registry", "serve", "--port", str(self.port), "--no-migrate"],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"node {self.name} exited:\n{self.log()}")
            with contextlib.suppress(OSError):
                if http_get(self.url + "/readyz", timeout=1)[0] == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"node {self.name} was not ready within {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, as an orchestrator stops a node (downloads are flushed); its exit status."""
        if self.process is None:
            return None
        _end(self.process, signal.SIGTERM, timeout)
        status, self.process = self.process.returncode, None
        return status

    def kill(self) -> None:
        """SIGKILL to the node's whole process group, as when its host dies: nothing is flushed."""
        if self.process is not None:
            _kill_group(self.process, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


@dataclass
class Topology:
    """The running topology; `start_topology()` makes one and ends it."""

    workdir: Path
    primary: Postgres
    standby: Postgres
    nodes: list[Node]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def standby_name(self) -> str:
        """The replica's name in /readyz and /metrics: host:port/database."""
        return f"127.0.0.1:{self.standby.port}/{DATABASE}"

    def wait_streaming(self, timeout: float = 30) -> None:
        """Until the primary sees the standby streaming and the standby has replayed all it has now."""
        deadline = time.monotonic() + timeout
        target = self.primary.sql("SELECT pg_current_wal_lsn()")[0][0]
        while time.monotonic() < deadline:
            streaming = self.primary.sql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
            if streaming[0][0] != "0" and self.standby.running:
                replayed = self.standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
                if replayed[0][0] == "t":
                    return
            time.sleep(0.05)
        raise RuntimeError(f"the standby is not streaming after {timeout}s:\n{self.standby.log_tail()}")

    def stop_standby(self) -> None:
        self.standby.stop()

    def start_standby(self) -> None:
        if not self.standby.running:
            self.standby.start()
        self.wait_streaming()

    def pause_replay(self) -> None:
        """The standby keeps receiving WAL but stops applying it: a replica that has not yet seen a write."""
        self.standby.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        if self.standby.running:
            self.standby.sql("SELECT pg_wal_replay_resume()")

    def replication(self) -> list[dict[str, Any]]:
        """pg_stat_replication as the primary reports it: each standby's state, replay lag (seconds,
        None when idle) and bytes of WAL not yet replayed."""
        rows = self.primary.sql(
            "SELECT state, COALESCE(EXTRACT(EPOCH FROM replay_lag)::text, ''),"
            "       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint::text, '')"
            "  FROM pg_stat_replication"
        )
        return [
            {"state": state, "replay_lag": float(lag) if lag else None, "bytes_behind": int(behind) if behind else None}
            for state, lag, behind in rows
        ]

    def sign_up(self, username: str) -> str:
        """A user signed up through the first node, and a token of theirs, once the standby has
        replayed both: a test's arrangement is settled before its action."""
        token = sign_up(self.urls[0], username)
        self.wait_streaming()
        return token

    def restart_node(self, index: int) -> None:
        node = self.nodes[index]
        node.stop()
        node.start().wait_ready()

    def ensure_healthy(self) -> None:
        """Every node up, the standby streaming and replaying: what each test starts from, whatever
        the test before it stopped or killed."""
        if not self.standby.running:
            self.standby.start()
        self.resume_replay()
        self.wait_streaming()
        stopped = [node for node in self.nodes if not node.running]
        for node in stopped:
            node.start()
        for node in stopped:
            node.wait_ready()

    def logs(self) -> str:
        """Everything worth reading when a test fails."""
        parts = [f"--- {node.name} ({node.url})\n{node.log()}" for node in self.nodes]
        parts += [f"--- {pg.name} (port {pg.port})\n{pg.log_tail()}" for pg in (self.primary, self.standby)]
        return "\n".join(parts)

    def close(self) -> None:
        for node in self.nodes:
            node.stop(timeout=10)
        for pg in (self.standby, self.primary):
            pg.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _own_dir(path: Path, user: str | None) -> Path:
    """A 0700 directory owned by the server's user (initdb and pg_basebackup write into it)."""
    path.mkdir(mode=0o700)
    if user is not None:
        shutil.chown(path, user, user)
    return path


def _primary(workdir: Path, bin_dir: Path, user: str | None) -> Postgres:
    primary = Postgres("primary", _own_dir(workdir / "primary", user), bin_dir, user)
    primary.run(
        "initdb", "-D", str(primary.pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
        "--no-locale", "--no-sync", "--no-instructions",
    )  # fmt: skip
    hba = primary.pgdata / "pg_hba.conf"
    # initdb's file already trusts loopback replication with --auth=trust; say so explicitly, so
    # that the standby's connection does not depend on the defaults of one PostgreSQL version.
    with hba.open("a") as lines:
        lines.write("host replication postgres 127.0.0.1/32 trust\n")
    primary.start()
    primary.sql(f'CREATE DATABASE "{DATABASE}"', database="postgres")
    return primary


def _standby(workdir: Path, primary: Postgres) -> Postgres:
    standby = Postgres("standby", _own_dir(workdir / "standby", primary.user), primary.bin_dir, primary.user)
    primary.run(
        "pg_basebackup", "-D", str(standby.pgdata), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
        "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
    )  # fmt: skip
    standby.start()
    return standby


def node_env(primary: Postgres, standby: Postgres, overrides: Mapping[str, str]) -> dict[str, str]:
    return command_env(
        primary.dsn(), DATABASE_READ_URL=standby.dsn(), **{**NODE_ENV, **overrides}
    )  # fmt: skip


@contextlib.contextmanager
def start_topology(nodes: int = 3, env: Mapping[str, str] | None = None) -> Iterator[Topology]:
    """Primary, streaming standby, migrated database and `nodes` ready nodes; all of it ended and
    removed afterwards, also when starting fails halfway."""
    workdir = Path(tempfile.mkdtemp(prefix="wharf-topology-", dir="/tmp"))
    workdir.chmod(0o755)  # as root, the server's user must reach its data directories
    bin_dir, user = server_binaries()
    started: list[Postgres | Node] = []
    try:
        primary = _primary(workdir, bin_dir, user)
        started.append(primary)
        standby = _standby(workdir, primary)
        started.append(standby)
        migrated = run_cli("registry", "migrate", "up", env=command_env(primary.dsn()))
        if migrated.returncode != 0:
            raise RuntimeError(f"registry migrate up failed:\n{migrated.stdout}{migrated.stderr}")
        environment = node_env(primary, standby, env or {})
        members = [Node(name, dict(environment), workdir / f"node-{name}.log") for name in "abcdefgh"[:nodes]]
        for node in members:
            started.append(node.start())
        topology = Topology(workdir, primary, standby, members)
        for node in members:
            node.wait_ready()
        topology.wait_streaming()
    except BaseException:
        for member in reversed(started):
            member.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        yield topology
    finally:
        topology.close()


# -- arranging through the API, for tests and benchmarks alike ---------------------------------------


def post_json(url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def basic_auth(username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def sign_up(url: str, username: str) -> str:
    """A new user (password PASSWORD) signed up through `url`, and a user:all token of theirs."""
    status, body = post_json(
        url + "/api/users", {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    )
    if status != 201:
        raise RuntimeError(f"sign-up of {username} answered {status}: {body}")
    status, body = post_json(url + "/api/tokens", {"note": "topology", "scopes": ["user:all"]}, basic_auth(username))
    if status != 201:
        raise RuntimeError(f"token for {username} answered {status}: {body}")
    token: str = body["token"]
    return token


def release_body(extension_id: str, version: str, *, filler: int = 0, **fields: Any) -> dict[str, Any]:
    """A publish body whose bundle names its version (and is padded with `filler` bytes)."""
    return {
        "extension_id": extension_id,
        "manifest": {
            "title": "Topology", "description": "Published across nodes.", "activationEvents": ["*"],
            "repository": {"type": "git", "url": "https://example.com/topology"},
        },
        "bundle": bundle_text(version, filler),
        "source_map": '{"version":3,"sources":["extension.ts"],"names":[],"mappings":"AAAA"}',
        "version": version,
        **fields,
    }  # fmt: skip


def bundle_text(version: str, filler: int = 0) -> str:
    padding = f"// {'x' * filler}\n" if filler else ""
    return f"export const version = '{version}';\n{padding}//# sourceMappingURL=extension.js.map\n"
