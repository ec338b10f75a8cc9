"""Running Wharf's real commands as child processes, the way an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def command_env(database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The test's environment, with DATABASE_URL set or removed, and quick bcrypt etc. on top."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run_cli(program: str, *args: str, env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`registry …` or `indexer …`, run as `python -m` so the test's interpreter is used."""
    return subprocess.run(
        [sys.executable, "-m", program, *args],
        env=dict(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass
class Server:
    """A `registry serve` child process on a free port."""

    args: list[str]
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    port_flag: bool = True  # False: leave the port to WHARF_PORT
    process: subprocess.Popen[str] | None = None
    output: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "registry", "serve", *self._port_args(), *self.args],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def _port_args(self) -> list[str]:
        return ["--port", str(self.port)] if self.port_flag else []

    def wait_for(self, path: str, status: int, timeout: float = 20.0) -> float:
        """Seconds until `path` answers `status`; fails with the server's output otherwise."""
        assert self.process is not None
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.stop()}")
            try:
                if http_get(self.url + path)[0] == status:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{path} did not answer {status} within {timeout}s:\n{self.stop()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> str:
        """Signal the server, wait for it, and return everything it printed."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        self.output += out or ""
        return self.output

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        out, _ = self.process.communicate(timeout=timeout)
        self.output += out or ""
        return self.process.returncode
