"""Abuse against a real `registry serve`, over raw sockets where it matters.

Already covered elsewhere: a declared Content-Length over a route's limit (tests/http/test_ops.py,
tests/http/test_publish.py), page sizes over 1000 (the paging tests of each listing).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import http.client
import re
import socket
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote

import asyncpg
import orjson
import pytest

from registry.app import create_app
from registry.config import Config
from testkit.databases import DatabaseServer
from testkit.processes import command_env
from tests.faults.logged_server import LoggedServer, arrange_user
from tests.support.factories import PASSWORD, basic

_TIMEOUT = 1.0  # WHARF_KEEPALIVE_TIMEOUT and WHARF_BODY_TIMEOUT of the server under test
_USER_LIMIT = 10


@pytest.fixture(scope="module")
def served(database_server: DatabaseServer, template_database: str) -> Iterator[tuple[LoggedServer, str]]:
    name = asyncio.run(database_server.copy_of(template_database))
    dsn = database_server.dsn(name)
    env = command_env(
        dsn,
        WHARF_KEEPALIVE_TIMEOUT=str(_TIMEOUT),
        WHARF_BODY_TIMEOUT=str(_TIMEOUT),
        WHARF_BCRYPT_COST="4",
        WHARF_AUTH_FAILURES_PER_USER=str(_USER_LIMIT),
        WHARF_AUTH_FAILURES_PER_ADDRESS="100000",
        WHARF_ACCESS_LOG="true",
        WHARF_LOG_LEVEL="DEBUG",
    )
    server = LoggedServer([], env).start()
    try:
        server.wait_for("/readyz", 200)
        yield server, dsn
    finally:
        server.stop()
        server.remove_log()
        asyncio.run(database_server.drop(name))


def _raw(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send `data` and read until the server closes the connection (or `timeout`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and b"Connection: close" not in received and _complete(received):
                break
        return received


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    match = re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE)
    return match is not None and len(body) >= int(match[1])


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- slow clients -------------------------------------------------------------------------------


def _dribble(port: int, head: bytes, drip: bytes, every: float, limit: float) -> tuple[float, bytes]:
    """Send `head`, then `drip` one byte every `every` seconds; seconds until the server hangs up."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        received = b""
        for byte in drip:
            time.sleep(every)
            try:
                while chunk := sock.recv(65536):
                    received += chunk
                else:
                    return time.monotonic() - started, received  # closed by the server
            except BlockingIOError:
                pass
            except ConnectionResetError:  # closed with our bytes unread: the answer may be lost
                return time.monotonic() - started, received
            try:
                sock.send(bytes([byte]))
            except OSError:
                return time.monotonic() - started, received
            if time.monotonic() - started > limit:
                break
    raise AssertionError(f"the server still listened after {limit}s of dribbling")


def test_headers_dribbled_byte_by_byte_are_cut_off(served: tuple[LoggedServer, str]) -> None:
    server, _ = served
    took, _ = _dribble(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: " + b"a" * 200, 0.05, 6)
    assert took < _TIMEOUT + 2


def test_a_body_dribbled_slowly_is_cut_off_with_408(served: tuple[LoggedServer, str]) -> None:
    server, _ = served
    head = b"POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
    took, received = _dribble(server.port, head, b'"username": "' + b"a" * 400, 0.05, 6)
    assert took < _TIMEOUT + 2
    if received:  # else the reset (our unread bytes) overtook it; the access log has it either way
        assert _status(received) == 408, received
        assert b"application/problem+json" in received
    assert '"path":"/api/users","route":"/api/users","status":408' in server.log()


def test_oversized_and_too_many_headers_are_refused(served: tuple[LoggedServer, str]) -> None:
    server, _ = served
    long_header = _raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    assert _status(long_header) in (400, 431), long_header[:200]
    long_line = _raw(server.port, b"GET /healthz?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _status(long_line) in (400, 414, 431), long_line[:200]
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(500))
    too_many = _raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert _status(too_many) in (400, 431), too_many[:200]
    assert _status(_raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 200


def test_a_huge_content_length_is_refused_without_reading_the_body(served: tuple[LoggedServer, str]) -> None:
    server, _ = served
    started = time.monotonic()
    head = b"POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: 10000000000000\r\n\r\n"
    response = _raw(server.port, head)
    assert _status(response) == 413, response[:300]
    assert time.monotonic() - started < 1.5


def test_run_app_keeps_every_handler_option(served: tuple[LoggedServer, str]) -> None:
    """aiohttp drops *all* handler options (access_log=None too) when one is unknown."""
    server, _ = served
    assert "Failed to create request handler" not in server.log()
    assert "aiohttp.access" not in server.log()


# -- hostile names and strings ------------------------------------------------------------------

_HOSTILE = (
    "..",
    "%2e%2e",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%5c..%5cwindows",
    "%252e%252e%252f",
    "a%00b",
    "%00",
    "a%0d%0aSet-Cookie:%20x=1",
    "a%09b",
    "%ff%fe",
    "a%2fb",
    "%c0%ae%c0%ae",
    "' OR 1=1 --",
)


def _templates() -> list[tuple[str, str]]:
    app = create_app(Config(database_url="postgresql://unused/x", access_log=False))
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        if "formatter" in info and route.method in ("GET", "DELETE", "PATCH", "POST", "PUT"):
            found.add((route.method, info["formatter"]))
    return sorted(found)


def test_hostile_path_parameters_are_4xx_never_5xx_never_a_file(served: tuple[LoggedServer, str]) -> None:
    server, _ = served
    templates = _templates()
    assert len(templates) > 20
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    failures = []
    for method, template in templates:
        for value in _HOSTILE:
            path = re.sub(r"\{[^}]+\}", value.replace(" ", "%20").replace("'", "%27"), template)
            body = b"{}" if method in ("POST", "PATCH", "PUT") else None
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            content = response.read()
            if response.status >= 500 or b"root:x:0:0" in content or (method == "GET" and response.status == 200):
                failures.append((method, path, response.status))
            if response.getheader("Connection") == "close":
                conn.close()
    conn.close()
    assert failures == []
    for value in (
        b"/-/static/../../../../etc/passwd",
        b"/api/users/a\x00b",
        b"/api/users/a\x01b",
        b"/%2e%2e/etc/passwd",
    ):
        response = _raw(server.port, b"GET " + value + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert 400 <= _status(response) < 500 and b"root:x:0:0" not in response, (value, response[:200])


def test_sql_injection_strings_are_inert(served: tuple[LoggedServer, str]) -> None:
    server, dsn = served
    user = arrange_user(dsn, "mallory")
    injections = ("' OR 1=1 --", '"; DROP TABLE users; --', "1; SELECT pg_sleep(5) --", "%' OR '%'='")
    for text in injections:
        status, body = _request(
            server.port,
            "POST",
            "/api/tokens",
            orjson.dumps({"note": text, "scopes": ["user:all"]}),
            {**basic("mallory"), "Content-Type": "application/json"},
        )
        assert status == 201, body
        assert orjson.loads(body)["note"] == text, "stored and returned verbatim"
        for query in ("q", "publisher", "category", "tag", "sort", "cursor", "limit"):
            status, body = _request(server.port, "GET", f"/api/extensions?{query}={_quote(text)}")
            assert status in (200, 400, 422), (query, text, status, body)
            if status == 200:
                assert orjson.loads(body)["items"] == [] if "items" in orjson.loads(body) else True
        status, _ = _request(server.port, "PATCH", "/api/users/mallory", orjson.dumps({"display_name": text}), {
            "Authorization": f"token {user.token}", "Content-Type": "application/json"})  # fmt: skip
        assert status in (200, 422)
    notes = asyncio.run(_fetch(dsn, "SELECT note FROM access_tokens WHERE note <> 'test' ORDER BY id"))
    assert [row["note"] for row in notes] == list(injections)
    assert asyncio.run(_fetch(dsn, "SELECT count(*) AS n FROM users"))[0]["n"] >= 1, "users is intact"


def _quote(text: str) -> str:
    return quote(text, safe="")


async def _fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


# -- authentication -----------------------------------------------------------------------------


def test_a_burst_of_wrong_passwords_gets_at_most_the_limit_through(served: tuple[LoggedServer, str]) -> None:
    server, dsn = served
    arrange_user(dsn, "victim")
    wrong = basic("victim", "not the password")

    def attempt(_: int) -> int:
        return _request(server.port, "POST", "/api/tokens", b'{"note": "x", "scopes": ["user:all"]}', {
            **wrong, "Content-Type": "application/json"})[0]  # fmt: skip

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        statuses = Counter(pool.map(attempt, range(50)))
    assert statuses[401] <= _USER_LIMIT and statuses[401] + statuses[429] == 50, statuses
    assert attempt(0) == 429
    right = {**basic("victim", PASSWORD), "Content-Type": "application/json"}
    assert _request(server.port, "POST", "/api/tokens", b'{"note": "x", "scopes": ["user:all"]}', right)[0] == 429


def test_no_token_ever_reaches_the_log(served: tuple[LoggedServer, str]) -> None:
    server, dsn = served
    admin = arrange_user(dsn, "root-admin", site_admin=True, scopes=("user:all", "site-admin:sudo"))
    other = arrange_user(dsn, "someone")
    tokens = [admin.token, other.token, "wharf_" + "A" * 43, "wharf_not-a-real-token"]
    json = {"Content-Type": "application/json"}
    for token in tokens:
        _request(server.port, "GET", "/api/user", headers={"Authorization": f"token {token}"})
        _request(server.port, "GET", "/api/user", headers={"Authorization": f"Bearer {token}"})
    sudo = f'token-sudo user="someone",token="{admin.token}"'
    assert _request(server.port, "GET", "/api/user", headers={"Authorization": sudo})[0] == 200
    sudo_bad = f'token-sudo user="nobody-at-all",token="{admin.token}"'
    assert _request(server.port, "GET", "/api/user", headers={"Authorization": sudo_bad})[0] == 401
    status, body = _request(server.port, "POST", "/api/tokens", b'{"note": "n", "scopes": ["user:all"]}', {
        **basic("someone"), **json})  # fmt: skip
    assert status == 201
    tokens.append(orjson.loads(body)["token"])
    status, body = _request(server.port, "POST", "/api/tokens", b'{"note": "n", "scopes": ["user:all"]}', {
        "Authorization": sudo, **json})  # fmt: skip
    assert status == 201
    tokens.append(orjson.loads(body)["token"])
    _request(server.port, "GET", f"/api/user?token={tokens[-1]}")  # a careless client puts one in a URL
    tokens.pop()
    log = server.log()
    assert '"path":"/api/user"' in log, "the access log is on"
    for token in tokens:
        assert token not in log
        assert token.removeprefix("wharf_") not in log
        assert base64.b64encode(token.encode()).decode() not in log
    assert base64.b64encode(f"someone:{PASSWORD}".encode()).decode() not in log
    assert PASSWORD not in log
