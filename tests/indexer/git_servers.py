"""Real git servers on loopback for the remote-repository tests: `git daemon`, `git http-backend`
behind a small aiohttp CGI bridge (with Basic authentication and redirects to test against), and
a repository to commit to and (force-)push from."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from testkit.processes import free_port

GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()


class Upstream:
    """A served bare repository (`served`) and a working copy that commits and pushes to it."""

    def __init__(self, root: Path, name: str, *, allow_filter: bool = True) -> None:
        self.served = root / "served" / f"{name}.git"
        self.work = root / "work" / name
        git("init", "-q", "--bare", "-b", "main", str(self.served))
        git("config", "uploadpack.allowFilter", "true" if allow_filter else "false", cwd=self.served)
        git("init", "-q", "-b", "main", str(self.work))

    def commit(self, files: dict[str, str | bytes], *, branch: str = "main", fresh: bool = False) -> str:
        """Commit `files` on `branch` (on a history of its own when `fresh`) and push it, forced."""
        if fresh:
            git("checkout", "-q", "--orphan", f"fresh-{time.monotonic_ns()}", cwd=self.work)
            git("read-tree", "--empty", cwd=self.work)  # nothing of the old history in the next commit
        for path, content in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
            git("add", "--", path, cwd=self.work)
        git("commit", "-qm", f"commit {time.monotonic_ns()}", cwd=self.work)
        git("push", "-q", "--force", str(self.served), f"HEAD:refs/heads/{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port}")


@contextmanager
def git_daemon(base: Path) -> Iterator[int]:
    """`git daemon` serving every repository under `base` on a loopback port."""
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}", "--listen=127.0.0.1",
         f"--port={port}", "--informative-errors", str(base)],
        env=GIT_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_port(port, time.monotonic() + 10)
        yield port
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=10)


@contextmanager
def silent_server() -> Iterator[tuple[int, list[int]]]:
    """A port that accepts connections and never answers; and the most connections it held at
    once (a worker's fetch against it can only end by its timeout)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    peak = [0]
    stop = [False]

    def accept() -> None:
        while not stop[0]:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                _prune(held)
                continue
            held.append(connection)
            _prune(held)
            peak[0] = max(peak[0], len(held))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], peak
    finally:
        stop[0] = True
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def _prune(held: list[socket.socket]) -> None:
    """Close and forget the connections whose peer has gone."""
    for connection in [c for c in held if not _open(c)]:
        connection.close()
        held.remove(connection)


def _open(connection: socket.socket) -> bool:
    """Whether the peer still holds the connection: what it sent is read and dropped, until
    nothing more is there (open) or the end of the stream (closed)."""
    connection.setblocking(False)
    try:
        while connection.recv(4096):
            pass
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def http_backend(
    base: Path, *, credentials: str | None = None, hits: list[str] | None = None, redirect_to: str = ""
) -> web.Application:
    """`git http-backend` (smart HTTP) for the repositories under `base`, as a CGI behind aiohttp;
    with `credentials` ("user:password") it asks for Basic authentication; `hits` records each
    request's path. `/moved/<path>` answers with a redirect to `<redirect_to>/<path>`."""
    app = web.Application()

    async def serve(request: web.Request) -> web.StreamResponse:
        if hits is not None:
            hits.append(request.path_qs)
        if request.path.startswith("/moved/"):
            raise web.HTTPFound(f"{redirect_to}/{request.path.removeprefix('/moved/')}?{request.query_string}")
        if credentials is not None:
            expected = "Basic " + base64.b64encode(credentials.encode()).decode()
            if request.headers.get("Authorization") != expected:
                raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Basic realm="git"'})
        body = await request.read()
        env = {
            "PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(base), "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            "REQUEST_METHOD": request.method, "PATH_INFO": request.path, "QUERY_STRING": request.query_string,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""), "REMOTE_ADDR": "127.0.0.1",
        }  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            "git", "http-backend", env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        output, _ = await process.communicate(body)
        separator = b"\r\n\r\n" if b"\r\n\r\n" in output else b"\n\n"
        head, _, payload = output.partition(separator)
        status, headers = 200, {}
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        headers.pop("Content-Length", None)
        return web.Response(status=status, body=payload, headers=headers)

    app.router.add_route("*", "/{path:.*}", serve)
    return app
